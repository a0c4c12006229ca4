"""The backtest names apps beside their ids: the scenario's names, or SMS_SDK_APP_IDS' `id=name`."""

from __future__ import annotations

from sms_receipt_stats.dev.backtest import command
from sms_receipt_stats.dev.backtest.replay import Notice


def _notice(app_id, status="firing", at=1_767_542_400):
    return Notice(at=at, job="check", app_id=app_id, rule="success_rate_below", code=None, severity="critical",
                  status=status, fingerprint=f"fp-{app_id}")


def test_the_account_summary_names_each_app():
    rows = command.summarize([_notice("1400000001"), _notice("1400000001", "resolved", at=1_767_546_000),
                              _notice("1400000002"), _notice(None)],
                             {"1400000001": "otp", "1400000002": ""})
    named = {(r["app_id"], r["app_name"]) for r in rows}
    assert named == {("1400000001", "otp"), ("1400000002", ""), ("*", "")}
    otp = next(r for r in rows if r["app_id"] == "1400000001")
    assert (otp["firing"], otp["resolved"]) == (1, 1)


def test_an_app_label_is_its_id_and_name_or_the_id_alone():
    assert command.app_label("1400000001", {"1400000001": "otp"}) == "1400000001 otp"
    assert command.app_label("1400000009", {"1400000001": "otp"}) == "1400000009"
