"""The backtest scorecard on hand-made notices: each metric counts what its docstring says."""

from __future__ import annotations

from typing import Optional

from sms_receipt_stats.dev.backtest.replay import Notice, RunRecord
from sms_receipt_stats.dev.backtest.scenario import Incident
from sms_receipt_stats.dev.backtest.score import score

H = 3600
T0 = 1_000_000 * H  # a whole hour
APP, OTHER = "1400000001", "1400000002"
OUTAGE = Incident("I1", "outage", (APP,), T0 + 10 * H + 20 * 60, T0 + 14 * H, rate=0.4)


def fire(at: int, app: Optional[str] = APP, rule: str = "success_rate_below", fp: str = "fp1",
         job: str = "check", status: str = "firing") -> Notice:
    return Notice(at=at, job=job, app_id=app, rule=rule, code=None, severity="critical", status=status,
                  fingerprint=fp)


def check_runs(notices, extra=()):
    """A check run at every notice's time (window: the hour before), plus `extra` runs."""
    runs = {}
    for n in notices:
        run = runs.setdefault((n.at, n.job), RunRecord(at=n.at, job=n.job, window_begin=n.at - H - 300,
                                                      window_end=n.at - 300))
        run.notices += 1
        run.firing += n.status == "firing"
    return list(runs.values()) + list(extra)


def card(notices, incidents=(OUTAGE,), detectable=None, runs=None):
    detectable = {i.id: True for i in incidents} if detectable is None else detectable
    return score("p", notices, check_runs(notices) if runs is None else runs, list(incidents), detectable)


def test_firing_outside_any_incident_is_false_per_app():
    notices = [fire(T0 + 2 * H + 300), fire(T0 + 11 * H + 300), fire(T0 + 12 * H + 300, app=OTHER, fp="fp2")]
    result = card(notices)
    assert result.false_firing == 2
    assert result.false_firing_by_app == {APP: 1, OTHER: 1}
    assert result.firing_by_app == {APP: 2, OTHER: 1} and result.resolved_by_app == {}


def test_grace_after_the_end_and_the_window_a_report_looked_at():
    in_grace = fire(T0 + 16 * H + 300)  # 2 h after the end: lagging data
    late = fire(T0 + 18 * H + 300)  # 4 h after
    assert card([in_grace]).false_firing == 0
    assert card([late]).false_firing == 1
    # the next day's report at 03:00 about yesterday names the incident: not false
    report_at = T0 + 27 * H
    report = fire(report_at, job="report")
    runs = [RunRecord(at=report_at, job="report", window_begin=T0, window_end=T0 + 24 * H, notices=1, firing=1)]
    assert card([report], runs=runs).false_firing == 0


def test_a_notice_without_app_matches_account_wide_incidents_only_by_time():
    wide = Incident("W", "account_error", (), T0 + 20 * H, T0 + 22 * H, code="AuthFailure.SecretIdNotFound")
    during = fire(T0 + 21 * H + 300, app=None, rule="api_error", fp="acct")
    outside = fire(T0 + 40 * H + 300, app=None, rule="api_error", fp="acct")
    result = card([during, outside], incidents=(wide,))
    assert result.false_firing == 1 and result.false_firing_by_app == {"*": 1}
    assert result.detected == 1


def test_detection_and_delay_count_detectable_incidents():
    first = fire(T0 + 11 * H + 300)
    result = card([first, fire(T0 + 12 * H + 300)])
    assert (result.detected, result.detectable) == (1, 1)
    assert result.median_delay_hours == round((first.at - OUTAGE.onset) / H, 2)
    assert result.median_outage_delay_hours == result.median_delay_hours
    missed = card([fire(T0 + 30 * H)])
    assert (missed.detected, missed.detectable, missed.median_delay_hours) == (0, 1, None)
    noise = card([fire(T0 + 11 * H + 300, rule="receipt_rate_below", fp="r")])
    assert noise.detected == 0 and noise.false_firing == 0  # about something else, during a real incident
    renamed = card([fire(T0 + 11 * H + 300, rule="success_rate_low")])
    assert renamed.detected == 1
    hidden = card([first], detectable={"I1": False})
    assert (hidden.detected, hidden.detectable, hidden.detected_undetectable) == (0, 0, 1)


def test_flaps_and_resolved_during_the_incident():
    notices = [fire(T0 + 11 * H + 300), fire(T0 + 12 * H + 300, status="resolved"), fire(T0 + 13 * H + 300),
               fire(T0 + 15 * H + 300, status="resolved")]
    result = card(notices)
    assert result.flaps == 1
    assert result.false_resolved == 1  # 12:05 is before the end; 15:05 is after it
    other_rule = [fire(T0 + 11 * H + 300, rule="receipt_rate_below", fp="r"),
                  fire(T0 + 12 * H + 300, rule="receipt_rate_below", fp="r", status="resolved")]
    assert card(other_rule).false_resolved == 0  # a receipt alert is not about this outage


def test_resolved_notices_per_incident_should_be_one_per_fingerprint():
    once = [fire(T0 + 11 * H + 300), fire(T0 + 15 * H + 300, status="resolved")]
    assert (card(once).extra_resolved, card(once).missing_resolved) == (0, 0)
    never = [fire(T0 + 11 * H + 300)]
    assert card(never).missing_resolved == 1
    twice = [*once, fire(T0 + 16 * H + 300, status="resolved")]
    assert card(twice).extra_resolved == 1
    assert card(twice).incidents[0].resolved == 2 and card(twice).incidents[0].fingerprints == 1
    # the same alert firing again later, unrelated to the incident, resolves on its own account
    later = [*once, fire(T0 + 20 * H + 300), fire(T0 + 22 * H + 300, status="resolved")]
    assert card(later).extra_resolved == 0 and card(later).false_firing == 1


def test_messages_reports_and_the_busiest_run_of_an_account_wide_incident():
    wide = Incident("W", "account_error", (), T0 + 20 * H, T0 + 22 * H, code="AuthFailure.SecretIdNotFound")
    burst = [fire(T0 + 21 * H + 300, app=f"14000000{i:02d}", rule="api_error", fp=f"f{i}") for i in range(1, 6)]
    single = [fire(T0 + 2 * H + 300)]
    report = RunRecord(at=T0 + 3 * H, job="report", window_begin=T0 - 21 * H, window_end=T0 + 3 * H)
    quiet = RunRecord(at=T0 + 4 * H + 300, job="check", window_begin=T0 + 3 * H, window_end=T0 + 4 * H)
    result = card(burst + single, incidents=(wide,), runs=check_runs(burst + single, [report, quiet]))
    assert result.messages == 2  # two check runs sent something; the quiet one did not
    assert result.reports == 1 and result.report_notices == 0
    assert result.max_notices_account_wide == 5
    assert result.notices == 6 and result.firing == 6 and result.resolved == 0


def group(at: int, apps=(APP, OTHER), status: str = "firing") -> Notice:
    """One notice of a group (docs/alerts.md, *Grouping*): several apps' alerts sent as one."""
    return Notice(at=at, job="check", app_id=None, rule="success_rate_below", code=None, severity="critical",
                  status=status, fingerprint="fp-" + apps[0], group="success_rate_below", apps=tuple(apps),
                  fingerprints=tuple(f"fp-{a}" for a in apps))


def test_a_grouped_notice_is_one_notice_relevant_if_any_of_its_apps_is_affected():
    notices = [group(T0 + 11 * H + 300), group(T0 + 16 * H + 300, status="resolved")]
    result = card(notices)
    assert (result.notices, result.firing, result.resolved) == (2, 1, 1)
    assert result.false_firing == 0 and result.detected == 1  # OTHER is not affected, APP is
    assert result.firing_by_app == {APP: 1, OTHER: 1}
    [incident] = result.incidents
    assert (incident.fingerprints, incident.resolved) == (1, 1)  # only APP's alert is the incident's
    assert (result.extra_resolved, result.missing_resolved) == (0, 0)


def test_a_grouped_notice_of_unaffected_apps_is_one_false_notice():
    third = "1400000003"
    result = card([group(T0 + 2 * H + 300, apps=(OTHER, third))])
    assert result.false_firing == 1 and result.false_firing_by_app == {OTHER: 1, third: 1}
    assert result.detected == 0


def test_a_flap_of_one_app_inside_a_grouped_notice_is_counted():
    notices = [group(T0 + 11 * H + 300), group(T0 + 12 * H + 300, status="resolved"), fire(T0 + 13 * H + 300,
                                                                                          fp="fp-" + APP)]
    assert card(notices).flaps == 1


def test_the_replay_records_a_group_as_one_notice():
    from sms_receipt_stats.dev.backtest.replay import _record
    from sms_receipt_stats.documents import Alert, ResultDocument
    from sms_receipt_stats.windows import resolve_window
    from support import NOW

    def alert(app: str, group: Optional[str], notified: bool = True) -> Alert:
        return Alert(rule="success_rate_below", severity="warning", app_id=app, message="m", status="firing",
                     fingerprint=f"fp-{app}", notified=notified, group=group if notified else None)

    doc = ResultDocument(kind="check", generated_at="2026-11-25T09:05:00+08:00",
                         alerts=[alert(APP, "success_rate_below"), alert(OTHER, "success_rate_below"),
                                 alert("1400000003", None, notified=False), alert("1400000004", None)])
    notices: list = []
    run = _record(doc, T0, "check", resolve_window("last_hour", NOW, "Asia/Shanghai", "total"), notices)
    assert (run.notices, run.firing) == (2, 2)
    assert [(n.targets, n.keys) for n in notices] == [((APP, OTHER), (f"fp-{APP}", f"fp-{OTHER}")),
                                                     (("1400000004",), ("fp-1400000004",))]


def test_a_package_running_out_is_warned_about_days_ahead_and_stays_out_of_the_delays():
    empty = Incident("P", "package_empty", (), T0 + 10 * 24 * H, T0 + 10 * 24 * H + 19 * H, lead_hours=10 * 24)
    report = dict(app_id=None, rule="package_low", fingerprint="pk", job="report")
    warned = Notice(at=T0 + 4 * 24 * H, severity="warning", code=None, status="firing", **report)
    worse = Notice(at=T0 + 9 * 24 * H, severity="critical", code=None, status="firing", **report)
    resolved = Notice(at=T0 + 11 * 24 * H, severity="critical", code=None, status="resolved", **report)
    early = Notice(at=T0 - 2 * 24 * H, severity="warning", code=None, status="firing",
                   **{**report, "fingerprint": "pk0"})  # before the lead: nothing explains it
    outage = fire(T0 + 11 * H + 300)
    result = card([early, warned, worse, outage, resolved], incidents=(empty, OUTAGE))
    mine = next(i for i in result.incidents if i.id == "P")
    assert mine.detected and mine.warning_lead_days == 6.0 and mine.critical_lead_days == 1.0
    assert mine.resolved == 1 and mine.fingerprints == 1
    assert result.package_warning_lead_days == 6.0 and result.package_critical_lead_days == 1.0
    assert result.false_firing == 1 and result.false_firing_by_app == {"*": 1}  # the early one only
    assert result.median_delay_hours == next(i for i in result.incidents if i.id == "I1").delay_hours  # the outage's


def test_a_package_never_warned_about_has_no_lead():
    empty = Incident("P", "package_empty", (), T0 + 10 * 24 * H, T0 + 11 * 24 * H, lead_hours=240)
    late = Notice(at=T0 + 10 * 24 * H + 6 * H, app_id=None, rule="package_low", code=None, severity="critical",
                  status="firing", fingerprint="pk", job="report")
    other = Incident("Q", "package_empty", (), T0 + 30 * 24 * H, T0 + 31 * 24 * H, lead_hours=240)
    result = card([late], incidents=(empty, other))
    assert next(i for i in result.incidents if i.id == "P").warning_lead_days == -0.25
    assert result.package_warning_lead_days is None and result.package_critical_lead_days is None
    assert result.median_delay_hours is None


def test_what_an_earlier_incident_left_resolving_in_a_packages_lead_is_not_its_flap():
    empty = Incident("P", "package_empty", (), T0 + 10 * 24 * H, T0 + 11 * 24 * H, lead_hours=240)
    left = fire(T0 + 5 * 24 * H, rule="volume_drop", fp="vd", status="resolved")
    again = fire(T0 + 10 * 24 * H + 2 * H, rule="volume_drop", fp="vd")
    flapped = fire(T0 + 10 * 24 * H + 3 * H, rule="volume_drop", fp="vd", status="resolved")
    again2 = fire(T0 + 10 * 24 * H + 5 * H, rule="volume_drop", fp="vd")
    assert card([left, again], incidents=(empty,)).flaps == 0
    assert card([left, again, flapped, again2], incidents=(empty,)).flaps == 1  # inside the incident: a flap
