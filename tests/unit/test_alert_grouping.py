"""Grouping of alert notices, Alertmanager's `group_by` (docs/alerts.md, *Grouping*): the apps one
rule fires for in one run are one notice, and one resolved when the last of them recovers.

The lifecycle runs against a real SQLite store with the clock passed in (as in
test_alert_lifecycle.py); the chat entry is rendered by the real renderer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.grouping import group_key, group_labels, label_groups
from sms_receipt_stats.render import FLAVORS, MAX_BYTES, render_message
from sms_receipt_stats.state.alerts import track_alerts
from sms_receipt_stats.state.groups import COLLECTION, GroupRecord, group_id
from sms_receipt_stats.state.silences import SilenceStore, new_silence
from sms_receipt_stats.state.store import GuardedStore
from sms_receipt_stats.vocabulary import rule_names
from support import NOW, read_event

PROD, OTP, MARKETING = "1400006874", "1400000002", "1400000009"
APPS = (PROD, OTP, MARKETING)
NAMES = {PROD: "prod", OTP: "otp", MARKETING: "marketing"}
VALUES = {PROD: 0.641, OTP: 0.71, MARKETING: 0.802}
REPEAT = timedelta(hours=4)
TZ = "Asia/Shanghai"
HOUR = timedelta(hours=1)


@pytest.fixture()
def store(sqlite_store: GuardedStore) -> GuardedStore:
    return sqlite_store


def rate_alert(app_id: str, severity: str = "warning") -> Alert:
    return Alert(rule="success_rate_below", severity=severity, app_id=app_id, value=VALUES[app_id],  # type: ignore[arg-type]
                 threshold=0.9, volume=1200, hours=1, message=f"{app_id}: success rate {VALUES[app_id]}")


def run(store: GuardedStore, firing_apps: Sequence[str], at: datetime, group_by: Sequence[str] = ("rule",),
        severity: str = "warning") -> List[Alert]:
    """One check: `firing_apps` fire success_rate_below, every other app is clear."""
    clear = {(a, r) for a in APPS if a not in firing_apps for r in rule_names()}
    tracked = track_alerts(store, [rate_alert(a, severity) for a in firing_apps], clear, at, repeat=REPEAT, tz=TZ,
                           group_by=group_by)
    assert tracked is not None
    label_groups(tracked, group_by)
    return tracked


def sent(alerts: List[Alert], status: str) -> List[Alert]:
    return [a for a in alerts if a.status == status and a.notified]


def recover(store: GuardedStore, still_firing: Sequence[str], at: datetime, **kw: Any) -> List[Alert]:
    """Two checks an hour apart (the rule's two clear runs): the others recover, `still_firing` fire."""
    run(store, still_firing, at, **kw)
    return run(store, still_firing, at + HOUR, **kw)


def doc_of(alerts: List[Alert]) -> ResultDocument:
    window = WindowDoc(begin="2026-11-25T08:00:00+08:00", end="2026-11-25T09:00:00+08:00", timezone=TZ)
    results = [AppResult(app_id=a, app_name=NAMES[a], window=window) for a in APPS]
    return ResultDocument(kind="check", generated_at="2026-11-25T09:05:00+08:00", results=results, alerts=alerts)


def alert_lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if "success rate" in line or "成功率" in line]


# -- the firing notice -------------------------------------------------------------------------------


def test_several_apps_firing_one_rule_are_one_group(store: GuardedStore) -> None:
    alerts = run(store, APPS, NOW)
    assert [a.app_id for a in sent(alerts, "firing")] == list(APPS)  # each app's alert stays in the document
    assert {a.group for a in alerts} == {"success_rate_below"}
    assert len({a.fingerprint for a in alerts}) == 3


def test_the_group_notice_names_every_app_with_its_figure_in_en_and_zh(store: GuardedStore) -> None:
    doc = doc_of(run(store, APPS, NOW))
    en = render_message(doc, "plain", lang="en", min_severity="warning")
    assert en is not None
    [line] = alert_lines(en.text)
    assert "success rate below threshold (90%) on 3 apps: prod (1400006874) 64.10%, otp (1400000002) 71.00%, " \
           "marketing (1400000009) 80.20%" in line
    zh = render_message(doc, "plain", lang="zh", min_severity="warning")
    assert zh is not None
    [line] = alert_lines(zh.text)
    assert "成功率低于阈值（90%）：3 个应用：prod (1400006874) 64.10%、otp (1400000002) 71.00%、" \
           "marketing (1400000009) 80.20%" in line


def test_one_app_alone_renders_as_before(store: GuardedStore) -> None:
    [alert] = run(store, [PROD], NOW)
    grouped = render_message(doc_of([alert]), "plain", min_severity="warning")
    alone = render_message(doc_of([alert.model_copy(update={"group": None})]), "plain", min_severity="warning")
    assert grouped is not None and alone is not None and grouped.text == alone.text


def test_a_mixed_group_marks_each_apps_severity(store: GuardedStore) -> None:
    alerts = [a.model_copy(update={"severity": "critical"}) if a.app_id == PROD else a for a in run(store, APPS, NOW)]
    message = render_message(doc_of(alerts), "plain", min_severity="warning")
    assert message is not None
    [line] = alert_lines(message.text)
    assert line.startswith("🔴") and "🔴 prod (1400006874) 64.10%" in line and "🟠 otp (1400000002)" in line


def test_rule_and_app_id_keep_one_notice_per_app(store: GuardedStore) -> None:
    alerts = run(store, APPS, NOW, group_by=("rule", "app_id"))
    assert [a.group for a in alerts] == [f"success_rate_below/{a}" for a in APPS]
    message = render_message(doc_of(alerts), "plain", min_severity="warning")
    assert message is not None and len(alert_lines(message.text)) == 3


def test_a_huge_group_still_fits_every_platform(store: GuardedStore) -> None:
    alerts = run(store, APPS, NOW)
    many = [alerts[0].model_copy(update={"app_id": f"14{i:08d}", "fingerprint": f"{i:016x}"}) for i in range(400)]
    for flavor in FLAVORS:
        message = render_message(doc_of(many), flavor, min_severity="warning")
        assert message is not None and len(message.text.encode("utf-8")) <= MAX_BYTES[flavor]
        assert "… 380 more" in message.text or message.truncated


# -- resolution --------------------------------------------------------------------------------------


def test_one_app_recovering_sends_no_resolved_while_the_others_fire(store: GuardedStore) -> None:
    run(store, APPS, NOW)
    alerts = recover(store, [OTP, MARKETING], NOW + HOUR)
    [resolved] = [a for a in alerts if a.status == "resolved"]
    assert (resolved.app_id, resolved.notified, resolved.group) == (PROD, False, None)  # in the document, quiet
    assert not sent(alerts, "firing")


def test_the_last_one_recovering_sends_one_resolved_naming_them_all(store: GuardedStore) -> None:
    run(store, APPS, NOW)
    assert not sent(recover(store, [OTP, MARKETING], NOW + HOUR), "resolved")
    assert not sent(recover(store, [MARKETING], NOW + 3 * HOUR), "resolved")
    alerts = recover(store, [], NOW + 5 * HOUR)
    resolved = sent(alerts, "resolved")
    assert sorted(a.app_id for a in resolved) == sorted(APPS)  # the earlier two named with the last
    assert {a.group for a in resolved} == {"success_rate_below"}
    assert all(a.since == "2026-11-25T09:00:00+08:00" for a in resolved)
    message = render_message(doc_of(alerts), "plain", min_severity="warning")
    assert message is not None
    [line] = [line for line in message.text.splitlines() if "RESOLVED" in line]
    assert "success rate below threshold on 3 apps:" in line and all(NAMES[a] in line for a in APPS)
    assert not store.items(COLLECTION)  # the group is closed
    assert not sent(recover(store, [], NOW + 7 * HOUR), "resolved")  # and stays so


def test_separate_apps_resolve_on_their_own(store: GuardedStore) -> None:
    run(store, APPS, NOW, group_by=("rule", "app_id"))
    alerts = recover(store, [OTP, MARKETING], NOW + HOUR, group_by=("rule", "app_id"))
    assert [a.app_id for a in sent(alerts, "resolved")] == [PROD]


def test_an_app_joining_a_notified_group_is_notified_and_resolves_with_it(store: GuardedStore) -> None:
    run(store, [PROD, OTP], NOW)
    joined = run(store, [PROD, OTP, MARKETING], NOW + HOUR)
    assert [a.app_id for a in sent(joined, "firing")] == [MARKETING]  # the new notice names the newcomer
    assert {a.group for a in sent(joined, "firing")} == {"success_rate_below"}
    recover(store, [MARKETING], NOW + 2 * HOUR)
    alerts = recover(store, [], NOW + 4 * HOUR)
    assert sorted(a.app_id for a in sent(alerts, "resolved")) == sorted(APPS)


def test_an_app_firing_again_before_the_group_closes_rejoins_it(store: GuardedStore) -> None:
    run(store, [PROD, OTP], NOW)
    recover(store, [OTP], NOW + HOUR)  # prod recovered quietly
    again = run(store, [PROD, OTP], NOW + 3 * HOUR)
    assert [a.app_id for a in sent(again, "firing")] == [PROD]
    alerts = recover(store, [], NOW + 4 * HOUR)
    assert sorted(a.app_id for a in sent(alerts, "resolved")) == sorted([PROD, OTP])  # prod once, not twice


def test_a_silenced_app_is_never_part_of_a_notified_group(store: GuardedStore) -> None:
    body = {"matchers": {"app_id": MARKETING}, "ends_at": (NOW + timedelta(days=1)).isoformat(), "created_by": "ops",
            "comment": "maintenance"}
    SilenceStore(store).add(new_silence(body, NOW), NOW)
    alerts = run(store, APPS, NOW)
    assert [(a.app_id, a.group) for a in alerts if a.notified] == [(PROD, "success_rate_below"),
                                                                   (OTP, "success_rate_below")]
    alerts = recover(store, [MARKETING], NOW + HOUR)  # the silenced one still fires: it holds nothing back
    assert sorted(a.app_id for a in sent(alerts, "resolved")) == sorted([PROD, OTP])
    assert not store.items(COLLECTION)


def test_an_unreadable_group_record_is_dropped_and_the_run_goes_on(store: GuardedStore) -> None:
    run(store, APPS, NOW)
    [gid] = store.items(COLLECTION)
    assert gid == group_id("success_rate_below")
    assert store.replace(COLLECTION, gid, store.get_item(COLLECTION, gid), '{"key": "x", "members": [{}]}', 60)
    alerts = recover(store, [OTP], NOW + HOUR)
    assert {a.app_id for a in sent(alerts, "resolved")} == {PROD, MARKETING}  # no group: each on its own
    assert GroupRecord.loads('{"key": "x", "members": [{}]}') is None


# -- configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "labels"), [("rule", ("rule",)), ("rule,app_id", ("rule", "app_id")),
                                             (" Severity , rule ", ("rule", "severity")),
                                             ("code,rule,code", ("rule", "code"))])
def test_alert_group_by_reads_a_list_of_labels(raw: str, labels: tuple) -> None:
    settings, issues = load_settings({"ALERT_GROUP_BY": raw})
    assert not issues and group_labels(settings) == labels


@pytest.mark.parametrize("raw", ["rules", "rule;app_id", "rule,,app_id", "app", "rule,token-s3cr3t"])
def test_a_bad_alert_group_by_is_a_config_issue_naming_it(raw: str) -> None:
    settings, issues = load_settings({"ALERT_GROUP_BY": raw})
    [issue] = [str(i) for i in issues]
    assert issue.startswith("ALERT_GROUP_BY:") and "grouping by rule" in issue and "s3cr3t" not in issue
    assert group_labels(settings) == ("rule",)


def test_a_bad_alert_group_by_is_a_config_error_alert_of_a_timer_run(invoke: Any) -> None:
    from support import base_env

    doc = invoke(read_event("timer_check_last_hour"), env=base_env(ALERT_GROUP_BY="bogus"))
    [alert] = [a for a in doc["alerts"] if a["rule"] == "config_error"]
    assert "ALERT_GROUP_BY" in alert["message"]


def test_group_keys_list_the_labels_in_a_fixed_order() -> None:
    alert = rate_alert(PROD)
    assert group_key(alert, ("rule",)) == "success_rate_below"
    assert group_key(alert, ("severity", "rule")) == "success_rate_below/warning"
    assert group_key(alert, ("rule", "code")) == "success_rate_below/-"
    account = Alert(rule="api_error", severity="critical", message="m", code="AuthFailure.SecretIdNotFound")
    assert group_key(account, ("rule", "app_id", "code")) == "api_error/-/AuthFailure.SecretIdNotFound"


def test_stateless_alerts_are_labelled_and_unsent_ones_are_not() -> None:
    alerts = [rate_alert(PROD), rate_alert(OTP).model_copy(update={"notified": False})]
    label_groups(alerts, ("rule",))
    assert [a.group for a in alerts] == ["success_rate_below", None]
    dumped: Dict[str, Optional[Any]] = alerts[1].model_dump(mode="json")
    assert "group" not in dumped  # an alert not sent keeps its old shape


def test_an_api_error_group_says_a_shared_code_once_and_different_codes_per_app() -> None:
    def error(app_id: str, code: str) -> Alert:
        return Alert(rule="api_error", severity="critical", app_id=app_id, value=code, code=code,
                     message=f"failed with {code}", group="api_error", status="firing", notified=True)

    same = render_message(doc_of([error(PROD, "InternalError.Timeout"), error(OTP, "InternalError.Timeout")]),
                          "plain", min_severity="warning")
    assert same is not None
    [line] = [line for line in same.text.splitlines() if "on 2 apps" in line]
    assert line.count("InternalError.Timeout") == 1 and line.endswith("prod (1400006874), otp (1400000002)")
    mixed = render_message(doc_of([error(PROD, "InternalError.Timeout"), error(OTP, "RequestLimitExceeded")]),
                           "plain", min_severity="warning")
    assert mixed is not None
    [line] = [line for line in mixed.text.splitlines() if "on 2 apps" in line]
    assert "prod (1400006874) InternalError.Timeout, otp (1400000002) RequestLimitExceeded" in line


def test_a_run_without_firing_or_resolving_alerts_does_not_read_the_groups() -> None:
    from sms_receipt_stats.state.groups import settle_groups

    class NoStore:  # a quiet check never opens, grows or closes a group: the store is not asked
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"store.{name} called")

    held = rate_alert(PROD).model_copy(update={"fingerprint": "f1", "status": None})
    assert settle_groups(NoStore(), [], ("rule",), NOW, [], TZ, "en", 3600.0) == []
    assert settle_groups(NoStore(), [held], ("rule",), NOW, [], TZ, "en", 3600.0) == [held]
