"""Chat messages link to the dashboard when PUBLIC_URL and LINK_SECRET are set."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Dict
from urllib.parse import parse_qs, urlsplit

import pytest
from sink_support import APP, Sleeper, app_result, checked_settings, document, mocked_hooks, sent

from sms_receipt_stats.documents import Alert, ResultDocument, WindowDoc
from sms_receipt_stats.links import details_links, verify
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.render import FLAVORS, render_message

PUBLIC_URL = "https://1250000000-abcd1234ef.ap-guangzhou.tencentscf.com"
SECRET = "chat-link-secret-0123456789"
HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
#: what each flavor makes of a link: (label, url) out of the message text
LINK_SHAPES = {
    "wecom": r"\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)",
    "dingtalk": r"\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)",
    "feishu": r"\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)",
    "slack": r"<(?P<url>https://[^|>\s]+)\|(?P<label>[^>]+)>",
    "plain": r"(?P<label>📈 [^:]+): (?P<url>https://\S+)",
}


def maker(generated_at: str = "2026-11-24T09:00:03+08:00"):
    return details_links(PUBLIC_URL, SECRET, generated_at)


def link_in(text: str, flavor: str) -> Dict[str, str]:
    match = re.search(LINK_SHAPES[flavor], text)
    assert match, text
    url = match.group("url").replace("&amp;", "&")
    return {"label": match.group("label"), "url": url, **{k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}}


def two_app_document(kind: str = "report") -> ResultDocument:
    window = WindowDoc(begin="2026112300", end="2026112400", timezone="Asia/Shanghai")
    results = [app_result().model_copy(update={"window": window}),
               app_result("1400000002", "staging").model_copy(update={"window": window})]
    alerts = [Alert(rule="success_rate_below", severity="critical", app_id="1400000002", value=0.6, threshold=0.7,
                    message="low")]
    return ResultDocument(kind=kind, generated_at="2026-11-24T09:00:03+08:00", results=results, alerts=alerts)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_flavor_links_the_apps_and_window_of_the_message(flavor: str) -> None:
    message = render_message(two_app_document(), flavor, details=maker())
    assert message is not None
    link = link_in(message.text, flavor)
    assert link["url"].startswith(f"{PUBLIC_URL}/dashboard?")
    assert link["label"].endswith("Dashboard")
    assert link["app_id"] == "1400006874,1400000002"  # the document's order
    assert link["window"] == "2026112300-2026112400"
    verify(SECRET, app_id=link["app_id"], window=link["window"], exp=link["exp"], sig=link["sig"],
           now=datetime(2026, 11, 30, tzinfo=timezone.utc))


def test_a_check_links_only_the_apps_it_alerts_on_over_at_least_a_day() -> None:
    doc = two_app_document("check")
    for r in doc.results:
        r.window = WindowDoc(begin="2026112408", end="2026112409", timezone="Asia/Shanghai")
    message = render_message(doc, "wecom", min_severity="warning", details=maker())
    assert message is not None
    link = link_in(message.text, "wecom")
    assert link["app_id"] == "1400000002"
    assert link["window"] == "2026112309-2026112409"


def test_the_link_survives_truncation() -> None:
    doc = two_app_document()
    full = render_message(doc, "wecom", details=maker())
    assert full is not None
    cut = render_message(doc, "wecom", details=maker(), max_bytes=len(full.text.encode()) - 200)
    assert cut is not None and cut.truncated
    assert link_in(cut.text, "wecom")["url"] == link_in(full.text, "wecom")["url"]


def test_zh_label() -> None:
    message = render_message(two_app_document(), "wecom", lang="zh", details=maker())
    assert message is not None and link_in(message.text, "wecom")["label"] == "📈 看板详情"


def test_no_link_without_the_maker_or_without_results() -> None:
    plain = render_message(two_app_document(), "wecom")
    assert plain is not None and "/dashboard?" not in plain.text
    config_only = ResultDocument(kind="error", generated_at="2026-11-24T09:00:03+08:00",
                                 alerts=[Alert(rule="config_error", severity="critical", message="SMS_SDK_APP_IDS: x")])
    message = render_message(config_only, "wecom", details=maker())
    assert message is not None and "/dashboard?" not in message.text


def test_a_sink_sends_the_link_when_public_url_and_link_secret_are_set() -> None:
    settings = checked_settings({"NOTIFY_URLS": f"{HOOK}?key=k-123", "PUBLIC_URL": PUBLIC_URL + "/",
                                 "LINK_SECRET": SECRET})
    with mocked_hooks({HOOK: {"json": {"errcode": 0, "errmsg": "ok"}}}) as http:
        deliveries = deliver_all(document("report"), settings, sleep=Sleeper())
        [body] = sent(http)
    assert deliveries[0].ok
    content = body["markdown"]["content"]
    link = link_in(content, "wecom")
    assert link["app_id"] == APP
    assert SECRET not in content
    # the link expires a week after the document was made, whenever it is (re)sent
    assert int(link["exp"]) == int(datetime(2026, 12, 1, 1, 0, 3, tzinfo=timezone.utc).timestamp())


def test_no_link_when_only_public_url_is_set() -> None:
    settings = checked_settings({"NOTIFY_URLS": f"{HOOK}?key=k-123", "PUBLIC_URL": PUBLIC_URL})
    with mocked_hooks({HOOK: {"json": {"errcode": 0, "errmsg": "ok"}}}) as http:
        deliver_all(document("report"), settings, sleep=Sleeper())
        [body] = sent(http)
    assert "/dashboard?" not in body["markdown"]["content"]
