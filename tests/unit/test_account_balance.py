"""The account's balance and bill: how long packages last, the two rules that watch them, and
where they show (documents, chat in every flavour, en/zh). Integration: tests/integration/test_account_emulator.py."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from sms_receipt_stats.account import days_left, send_doc
from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, ErrorInfo, PackagesDoc, ResultDocument, WindowDoc
from sms_receipt_stats.render import FLAVORS, render_message
from sms_receipt_stats.rules import Evidence, assess, context_of, rule
from sms_receipt_stats.stats import Stats, compute_rates

DAY = 86400.0
NOW = 1_800_000_000.0
WINDOW = WindowDoc(begin="2026112400", end="2026112500", timezone="Asia/Shanghai")
STATS = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=900, CallbackFailCount=50,
              ShutdownErrorCount=50)


def balance(remaining: Optional[int], daily: Optional[float], left: Optional[float], **extra: Any) -> PackagesDoc:
    return PackagesDoc(app_id="1400006874", amount=None if remaining is None else 100_000,
                       used=None if remaining is None else 100_000 - remaining, remaining=remaining,
                       daily_billed=daily, days_left=left, **extra)


def result(app_id: str = "1400006874", send: Optional[Dict[str, int]] = None) -> AppResult:
    return AppResult(app_id=app_id, app_name="prod", window=WINDOW, stats=STATS, rates=compute_rates(STATS),
                     send=send_doc(**send) if send else None)


def judge(name: str, results: List[AppResult], account: Optional[PackagesDoc] = None,
          lang: str = "en", **values: Any) -> Any:
    thresholds = Thresholds(**values)
    ctx = context_of(thresholds, lang, "report", account=account)
    evidence = {r.app_id: Evidence(result=r, window_lag=float("inf")) for r in results}
    out = assess(results, ctx, evidence)
    return [a for a in out.alerts if a.rule == name], {k for k in out.clear if k[1] == name}


# -- days left ---------------------------------------------------------------------------


def test_a_balance_lasts_remaining_over_the_daily_rate() -> None:
    assert days_left([(10_000, NOW - DAY, NOW + 365 * DAY)], 1_000.0, NOW) == 10.0


def test_the_package_that_expires_first_is_used_first_and_its_unused_part_is_lost() -> None:
    # 5,000 expiring in 2 days: only 2,000 of it is used at 1,000 a day; then 3,000 more last 3 days
    packages = [(3_000, NOW - DAY, NOW + 365 * DAY), (5_000, NOW - DAY, NOW + 2 * DAY)]
    assert days_left(packages, 1_000.0, NOW) == 5.0


def test_expired_and_empty_packages_leave_nothing() -> None:
    assert days_left([(9_000, NOW - 30 * DAY, NOW - DAY), (0, NOW - DAY, NOW + DAY)], 1_000.0, NOW) == 0.0


def test_sending_stops_until_a_later_package_takes_effect() -> None:
    packages = [(1_000, NOW - DAY, NOW + 365 * DAY), (50_000, NOW + 5 * DAY, NOW + 365 * DAY)]
    assert days_left(packages, 1_000.0, NOW) == 1.0


def test_nothing_billed_means_no_horizon() -> None:
    assert days_left([(1_000, NOW - DAY, NOW + DAY)], 0.0, NOW) is None


# -- package_low ---------------------------------------------------------------------------


@pytest.mark.parametrize("left, severity", [(7.0, "warning"), (3.5, "warning"), (2.0, "critical"), (0.4, "critical")])
def test_package_low_warns_at_the_warn_horizon_and_is_critical_at_the_critical_one(left: float,
                                                                                   severity: str) -> None:
    alerts, _ = judge("package_low", [result(), result("1400006875")], balance(7_000, 1_000.0, left))
    assert [(a.severity, a.app_id) for a in alerts] == [(severity, None)]  # one for the account, not per app
    assert alerts[0].value == left and alerts[0].hint


def test_package_low_is_clear_with_more_days_left_than_the_horizon() -> None:
    alerts, clear = judge("package_low", [result()], balance(80_000, 1_000.0, 80.0))
    assert alerts == [] and clear == {(None, "package_low")}


def test_an_empty_balance_is_critical_whatever_the_rate() -> None:
    alerts, _ = judge("package_low", [result()], balance(0, None, 0.0))
    assert alerts[0].severity == "critical" and "nothing left" in alerts[0].message


def test_a_balance_under_the_message_floor_warns_when_set() -> None:
    low = balance(400, None, None)
    assert judge("package_low", [result()], low)[0] == []  # off by default
    alerts, _ = judge("package_low", [result()], low, package_min_messages=500)
    assert alerts[0].severity == "warning" and "400" in alerts[0].message and "500" in alerts[0].message


def test_package_low_does_not_judge_an_unread_or_packageless_account() -> None:
    failed = balance(None, None, None, error=ErrorInfo(code="UnauthorizedOperation.RequestPermissionDeny", message="x"))
    for account in (None, failed, balance(None, 1_000.0, None)):
        alerts, clear = judge("package_low", [result()], account)
        assert alerts == [] and clear == set()


def test_the_warning_comes_at_least_two_days_before_the_balance_runs_out() -> None:
    """One report a day, a steady rate: the first report that warns has at least two days left,
    at every warn horizon the variable accepts, whatever the hour the balance started from."""
    spec = rule("package_low")
    assert spec is not None
    low = next(v for v in spec.variables if v.env == "PACKAGE_WARN_DAYS").bounds()[0]
    for warn in (low, 7.0):
        for start in (30.0, 29.3, 10.01, 7.5):
            left = start
            while left > 0:
                alerts, _ = judge("package_low", [result()], balance(int(left * 1000), 1000.0, round(left, 1)),
                                  package_warn_days=warn)
                if alerts:
                    break
                left -= 1.0  # the next daily report
            assert left >= 2.0, (warn, start, left)


def test_a_critical_horizon_beyond_the_warning_one_is_an_issue_naming_it() -> None:
    from sms_receipt_stats.config import load_settings

    settings, issues = load_settings({"PACKAGE_WARN_DAYS": "5", "PACKAGE_CRIT_DAYS": "9"})
    assert any("PACKAGE_CRIT_DAYS" in str(i) for i in issues)
    assert settings.thresholds.values()["package_crit_days"] == 5


def test_a_warn_horizon_under_three_days_is_refused() -> None:
    from sms_receipt_stats.config import load_settings

    settings, issues = load_settings({"PACKAGE_WARN_DAYS": "1"})
    assert any("PACKAGE_WARN_DAYS" in str(i) for i in issues) and settings.thresholds.values()["package_warn_days"] == 7


# -- submit_rejected -----------------------------------------------------------------------


def test_submit_rejected_warns_when_the_accept_rate_is_confidently_low() -> None:
    alerts, _ = judge("submit_rejected", [result(send={"submitted": 2_000, "accepted": 1_700, "billed": 1_900})])
    assert [(a.severity, a.app_id, a.value, a.volume) for a in alerts] == [("warning", "1400006874", 0.85, 2_000)]
    assert "300 of 2,000 rejected" in alerts[0].message


def test_submit_rejected_is_clear_when_nearly_all_are_accepted() -> None:
    alerts, clear = judge("submit_rejected", [result(send={"submitted": 2_000, "accepted": 1_995, "billed": 2_100})])
    assert alerts == [] and clear == {("1400006874", "submit_rejected")}


def test_submit_rejected_needs_volume_and_confidence() -> None:
    thin = result(send={"submitted": 50, "accepted": 30, "billed": 30})
    unsure = result("1400006875", send={"submitted": 120, "accepted": 111, "billed": 111})  # 92.5%: can't tell
    no_send = result("1400006876")
    alerts, clear = judge("submit_rejected", [thin, unsure, no_send])
    assert alerts == [] and clear == set()


def test_submit_rejected_speaks_chinese() -> None:
    alerts, _ = judge("submit_rejected", [result(send={"submitted": 2_000, "accepted": 1_700, "billed": 1_900})],
                      lang="zh")
    assert "被拒 300 条" in alerts[0].message


# -- documents -----------------------------------------------------------------------------


def test_send_and_packages_are_left_out_of_documents_that_have_none() -> None:
    doc = ResultDocument(generated_at="2026-11-25T09:00:00+08:00", results=[result()])
    data = doc.to_json_dict()
    assert "packages" not in data and "send" not in data["results"][0]


def test_send_and_packages_are_in_the_document_when_read() -> None:
    doc = ResultDocument(generated_at="2026-11-25T09:00:00+08:00",
                         results=[result(send={"submitted": 200, "accepted": 150, "billed": 180})],
                         packages=balance(5_000, 1_000.0, 5.0))
    data = doc.to_json_dict()
    assert data["results"][0]["send"] == {"submitted": 200, "accepted": 150, "billed": 180, "accept_rate": 0.75}
    assert data["packages"]["remaining"] == 5_000 and data["packages"]["days_left"] == 5.0
    assert ResultDocument.model_validate(data).packages == doc.packages


# -- chat ----------------------------------------------------------------------------------


def _doc(**extra: Any) -> ResultDocument:
    return ResultDocument(generated_at="2026-11-25T09:00:00+08:00",
                          results=[result(send={"submitted": 2_000, "accepted": 1_990, "billed": 2_400})], **extra)


@pytest.mark.parametrize("flavor", sorted(FLAVORS))
@pytest.mark.parametrize("lang, words", [
    ("en", ("SMS balance", "63,000 messages left", "about 6.3 days at 10,000 billed a day",
            "API accepted 1,990 of 2,000", "billed 2,400")),
    ("zh", ("短信余量", "剩余 63,000 条", "约可用 6.3 天", "接口受理 1,990 条", "计费 2,400 条")),
])
def test_the_report_shows_the_balance_and_the_send_counts(flavor: str, lang: str, words: Any) -> None:
    message = render_message(_doc(packages=balance(63_000, 10_000.0, 6.3)), flavor, lang=lang)
    assert message is not None
    text = message.text.replace("\\", "")  # markdown escapes of some flavours
    for word in words:
        assert word in text, (flavor, word)


@pytest.mark.parametrize("flavor", sorted(FLAVORS))
def test_a_failed_packages_call_shows_as_unavailable_with_its_code(flavor: str) -> None:
    failed = balance(None, None, None,
                     error=ErrorInfo(code="UnauthorizedOperation.RequestPermissionDeny", message="no"))
    message = render_message(_doc(packages=failed), flavor, lang="en")
    assert message is not None
    text = message.text.replace("\\", "")
    assert "SMS balance" in text and "unavailable" in text and "RequestPermissionDeny" in text
    assert "API accepted 1,990" in text  # the rest of the report is whole


def test_a_package_low_alert_reads_as_its_sentence() -> None:
    alerts, _ = judge("package_low", [result()], balance(4_000, 1_000.0, 4.0))
    message = render_message(_doc(packages=balance(4_000, 1_000.0, 4.0), alerts=alerts), "plain", lang="en")
    assert message is not None
    assert "SMS balance low: SMS packages: 4,000 messages left, about 4 days" in message.text
    assert "Buy an SMS package" in message.text
