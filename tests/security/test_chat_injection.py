"""Chat injection: untrusted text in a message can neither break it nor mention or link anyone.

App names (from `SMS_SDK_APP_IDS`), upstream error codes and messages, alert messages and
config errors (which quote a timer `Message`) all end up in chat markdown. The same
document is rendered twice, once with hostile strings and once with a harmless placeholder
in their place: every markup token must occur exactly as often in both renderings, and
the hostile one must have the same lines. Then the real sinks post to a local receiver and
the payloads are checked for mentions the configuration did not ask for.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.dev.receiver import Receiver
from sms_receipt_stats.documents import (
    AppResult,
    CountryCount,
    ErrorInfo,
    ReceiptCodeCount,
    ResultDocument,
    WindowDoc,
)
from sms_receipt_stats.grouping import label_groups
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.render import FLAVORS, escape, render_message
from sms_receipt_stats.rules import config_alerts, evaluate
from sms_receipt_stats.stats import Stats, compute_rates
from support import (
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    HEALTHY_STATS,
    NOW,
    FakeFetcher,
    plain_env,
    property_settings,
    read_event,
)

#: what attackers write into names and messages to ping a whole group or plant a link
INJECTIONS = (
    "@all", "@所有人", "@13800138000", "<@U012AB3CD>", "<@all>", "<!channel>", "<!here>", "<!everyone>",
    "<!subteam^S123>", "[click](https://evil.invalid/x)", "![img](https://evil.invalid/i.png)",
    "<https://evil.invalid|click>", "https://evil.invalid/login", "http://evil.invalid",
    '<at user_id="all">所有人</at>', "<at id=all></at>", '<font color="warning">fake</font>', "\n### Fake heading",
    "\n> quote", "**bold**", "__under__", "`code`", "```block```", "~~strike~~", "prod\n\n@all", "\u202eevil",
    "x\u2028@all", "a\u0085b", "\r\n# h1", "<script>alert(1)</script>", "&lt;!channel&gt;", "<mailto:a@b.invalid|x>",
    "javascript:alert(1)", "| a | b |\n|---|---|", "[x]: https://evil.invalid", "\\*not bold\\*", "#hashtag",
    "<b>bold</b>", "<br/>", "&#64;all", "<!date^1392734382^{date}|x>", "a\x00b", "\x1b[31mred\x1b[0m",
    "evil.example/login", "www.evil.com", "Login at EVIL.COM", "evil.invalid:8443/x", "a.b.co.uk",
)
#: what chat clients auto-link even without a scheme: a bare `label.tld`
BARE_DOMAIN = re.compile(r"[A-Za-z0-9-]+\.[A-Za-z]{2,}", re.ASCII)
MARKUP_ALPHABET = "@<>[]()!*_`#~|\\&;:/=\"' \n\r\t\u2028\u2029\u202e\u200bax1中"
hostile = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(alphabet=MARKUP_ALPHABET, max_size=40),
    st.lists(st.sampled_from(INJECTIONS), min_size=2, max_size=4).map("".join),
    st.text(max_size=30),
)
#: tokens a renderer must never gain from untrusted text (compared with the placeholder rendering)
TOKENS = ("@", "<", ">", "[", "]", "](", "*", "`", "#", "~", "|", "\\", "://", "<!", "<@", "<at", "<font",
          "</", "\n", "\r", "\u2028", "\u2029", "\u202e", "\x1b", "\x00")
PLACEHOLDER = "x"


def document(name: str, message: str, code: str, issue: str, grouped: bool = False) -> ResultDocument:
    """A check with an app (named `name`) whose success rate alerts, its pushed receipts failing with
    `code` (meaning `message`, country `issue`: read back from the store, so untrusted too), a
    failing one (`code`, `message`) and a config error quoting `issue`; alerts come from the real
    rules. `grouped`: twice as many apps, alerts grouped by rule (docs/alerts.md, *Grouping*): one
    entry naming two apps each."""
    window = WindowDoc(begin="2026112400", end="2026112500", timezone="Asia/Shanghai")
    low = Stats(RequestSuccessCount=1000, CallbackCount=900, CallbackSuccessCount=600, CallbackFailCount=300,
                InvalidNumberCount=300)
    results = [
        AppResult(app_id=APP_PROD, app_name=name, window=window, stats=low, rates=compute_rates(low),
                  request_ids=["r1"],
                  receipt_codes=[ReceiptCodeCount(code=code, count=9, category="unknown", meaning=message),
                                 ReceiptCodeCount(code=code, count=3, category="unknown")],
                  countries=[CountryCount(nationcode=issue, count=12, failed=12)]),
        AppResult(app_id=APP_STAGING, app_name=name, window=window, request_ids=["r2"],
                  error=ErrorInfo(code=code, message=message, severity="critical", category="auth",
                                  hint="Check the SecretId.")),
    ]
    if grouped:
        results += [result.model_copy(update={"app_id": other})
                    for result, other in zip(results, (APP_MARKETING, "1400000003"))]
    alerts = [*evaluate(results, Thresholds()), *config_alerts([f"Message.app_ids: {issue!r} is not configured"])]
    if grouped:
        label_groups(alerts, ("rule",))
    return ResultDocument(kind="check", trigger="timer", generated_at="2026-11-25T09:00:00+08:00",
                          results=results, alerts=alerts, errors=[issue])


def counts(text: str) -> Dict[str, int]:
    return {token: text.count(token) for token in TOKENS}


@property_settings(300)
@given(name=hostile, message=hostile, code=hostile, issue=hostile, flavor=st.sampled_from(FLAVORS),
       lang=st.sampled_from(["en", "zh"]), grouped=st.booleans())
def test_hostile_text_adds_no_markup_mention_link_or_line(name: str, message: str, code: str, issue: str,
                                                          flavor: str, lang: str, grouped: bool, tally: Any) -> None:
    tally["cases:chat: hostile names, codes and messages in every flavor"] += 1
    evil = render_message(document(name, message, code, issue, grouped), flavor, lang=lang)
    calm = render_message(document(PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, grouped), flavor, lang=lang)
    assert evil is not None and calm is not None
    for part in ("title", "text"):
        got, want = counts(getattr(evil, part)), counts(getattr(calm, part))
        if flavor == "plain":  # plain text for terminals: no markup, but no new lines or escapes either
            got = {k: v for k, v in got.items() if k in ("\n", "\r", "\u2028", "\u2029", "\u202e", "\x1b", "\x00")}
            want = {k: want[k] for k in got}
        # hostile text may make a part disappear (an empty code span), never add one
        assert all(got[k] <= want[k] for k in got), (flavor, part, {k: (got[k], want[k]) for k in got
                                                                     if got[k] > want[k]})
    if not evil.truncated and not calm.truncated:
        assert len(evil.text.split("\n")) <= len(calm.text.split("\n"))


@property_settings(300)
@given(text=st.one_of(hostile, st.text(st.characters(exclude_categories=("Cs",)), max_size=200)),
       flavor=st.sampled_from([f for f in FLAVORS if f != "plain"]))
def test_escape_leaves_nothing_a_chat_client_would_act_on(text: str, flavor: str, tally: Any) -> None:
    tally["cases:chat: escape() of any text"] += 1
    out = escape(text, flavor)
    assert not any(ch in out for ch in "\n\r\x00\x1b\u2028\u2029\u202e\u202d\u2066\u2067\u2068")
    assert "://" not in out and "@" not in out
    if flavor == "slack":
        assert "<" not in out and ">" not in out
        assert all(out[i:].startswith(("&amp;", "&lt;", "&gt;")) for i, ch in enumerate(out) if ch == "&")
    else:
        assert not any(ch in out for ch in "<>[]*`#~|\\")
    assert not BARE_DOMAIN.search(out)


@property_settings(300)
@given(text=st.one_of(hostile, st.from_regex(r"\A(www\.)?[a-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,8}){1,3}(/[a-z]{0,6})?\Z"),
                      st.text(alphabet="aZ9-._ .:/%\u200b中", max_size=40)),
       flavor=st.sampled_from(FLAVORS))
def test_escape_leaves_no_bare_domain_in_any_flavor(text: str, flavor: str, tally: Any) -> None:
    tally["cases:chat: no bare domain survives escape()"] += 1
    assert not BARE_DOMAIN.search(escape(text, flavor))


@pytest.mark.parametrize("flavor", [f for f in FLAVORS if f != "plain"])
@pytest.mark.parametrize("payload", INJECTIONS)
def test_each_known_injection_is_defused(flavor: str, payload: str) -> None:
    evil = render_message(document(payload, payload, payload, payload), flavor)
    assert evil is not None
    for needle in ("@all", "<!channel>", "<!here>", "<@U", "<at ", "](http", "https://evil", "http://evil",
                   "<font color=\"warning\">fake", "### Fake", "> quote", "**bold**", "<script", "evil.example",
                   "www.evil", "evil.invalid", "EVIL.COM"):
        if needle in payload:
            assert needle not in evil.text and needle not in evil.title, (flavor, payload, needle)


# ---------------------------------------------------------------------------------------------
# End to end: the real sinks post to a local receiver; no mention the configuration did not ask for
# ---------------------------------------------------------------------------------------------
def _strings(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_sinks_post_no_injected_mention_or_link(tally: Any) -> None:
    name = "@all <!channel> <@U1> [x](https://evil.invalid) <at id=all></at>"  # no ',' : SMS_SDK_APP_IDS splits on it
    upstream = "boom\n\n### @all\n<!here> [click](https://evil.invalid/a) <at user_id=\"all\"></at> <@U2>"
    fetcher = FakeFetcher(HEALTHY_STATS)
    fetcher.fail(APP_STAGING, "AuthFailure.SignatureFailure", message=upstream)
    with Receiver() as rx:
        env = plain_env(
            SMS_SDK_APP_IDS=f"{APP_PROD}={name},{APP_STAGING}={name}",
            NOTIFY_URLS=",".join([f"wecom+{rx.url}/wecom?key=k", f"dingtalk+{rx.url}/dingtalk?access_token=t",
                                  f"feishu+{rx.url}/feishu/hook", f"slack+{rx.url}/slack/hook"]),
        )
        deps = JobDeps(fetcher_factory=lambda settings: fetcher, now=lambda: NOW)  # real clocks and sinks
        event = read_event("timer_default")
        event["Message"] = json.dumps({"job": "check", "window": "yesterday",
                                       "app_ids": [APP_PROD, APP_STAGING, "@all <!channel>\n# x"]})
        doc = handle(event, {"time_limit_in_ms": 10000}, env=env, deps=deps)
        received = rx.received
    tally["cases:chat: end to end through the sinks"] += 1
    assert [d["ok"] for d in doc["deliveries"]] == [True, True, True, True], doc["deliveries"]
    assert {r.path.split("?")[0] for r in received} == {"/wecom", "/dingtalk", "/feishu/hook", "/slack/hook"}
    for r in received:
        payload = r.json
        text = "\n".join(_strings(payload))
        for needle in ("@all", "<!channel>", "<!here>", "<@U", "<at ", "](http", "https://evil", "evil.invalid",
                       "\n### @"):
            assert needle not in text, (r.path, needle)
        assert payload.get("msgtype") != "text"  # WeCom's mention follow-up was not configured
        assert "at" not in payload or payload["at"] == {"atMobiles": [], "isAtAll": False}
        assert "mentioned_mobile_list" not in text and "mentioned_list" not in json.dumps(payload)
