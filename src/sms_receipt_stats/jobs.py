"""The timer jobs: report, check and doctor; and `JobDeps`, the edges of every job.

Orchestration only. Data flows one way: window → query tasks → outcomes → app results →
alerts → sinks → result document. Every dependency with a side effect (fetcher, clocks, sleep,
delivery, state store) comes in through `JobDeps`, so tests need no monkeypatching. The HTTP
routes (lookups, the dashboard, silences) are the modules of `http/`; they get the same
`JobDeps` from `app`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from sms_receipt_stats.config import App, Settings
from sms_receipt_stats.documents import (
    Alert,
    Delivery,
    ResultDocument,
)
from sms_receipt_stats.grouping import group_labels, label_groups
from sms_receipt_stats.measure import generated_at, make_querier, query_apps
from sms_receipt_stats.query import Querier, StatsFetcher
from sms_receipt_stats.rules import Assessment, Evidence, assess, config_alerts, context_of, rule
from sms_receipt_stats.vocabulary import VOCABULARY
from sms_receipt_stats.windows import Window

if TYPE_CHECKING:
    from sms_receipt_stats.state.flow import StatefulRun
    from sms_receipt_stats.state.store import GuardedStore

logger = logging.getLogger("sms_receipt_stats.jobs")
Deliver = Callable[[ResultDocument, Settings, Optional[float]], List[Delivery]]


def _default_fetcher(settings: Settings) -> StatsFetcher:
    from sms_receipt_stats.query import SdkStatsFetcher

    return SdkStatsFetcher(settings)


def _default_deliver(doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
    if not settings.sinks:
        return []
    from sms_receipt_stats.notify.delivery import deliver_all

    return deliver_all(doc, settings, clock=time.monotonic, deadline=deadline)


def _default_server_time(settings: Settings) -> Optional[datetime]:
    from sms_receipt_stats.doctor import http_server_time

    return http_server_time(settings)
def _default_open_state(settings: Settings) -> Optional[GuardedStore]:
    if settings.state_url is None:
        return None  # stateless: the state package is never loaded
    from sms_receipt_stats.state.flow import open_state

    return open_state(settings)


@dataclass
class JobDeps:
    """The edges of a job: how to reach the API, read the clocks, sleep and deliver."""

    fetcher_factory: Callable[[Settings], StatsFetcher] = _default_fetcher
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    deliver: Deliver = _default_deliver
    server_time: Callable[[Settings], Optional[datetime]] = _default_server_time
    open_state: Callable[[Settings], Optional[GuardedStore]] = _default_open_state


def finish(doc: ResultDocument, settings: Settings, deps: JobDeps, deadline: Optional[float],
           run: Optional[StatefulRun] = None) -> ResultDocument:
    """Deliver to the sinks and record every outcome; delivery never raises into the job.

    The sinks get the document with every configured secret masked: an upstream message or a
    config error may quote one, and a chat is no place for it.
    """
    from sms_receipt_stats.redaction import prepare, redact

    try:
        secrets = prepare(settings.secret_values())
        outgoing = doc
        if secrets:
            outgoing = ResultDocument.model_validate(redact(doc.to_json_dict(), secrets, keep=VOCABULARY))
        if run is not None:  # with a state store: through the outbox (docs/state.md "Outbox")
            doc.deliveries = run.deliver(outgoing, doc, deps.deliver, deadline)
        else:
            doc.deliveries = deps.deliver(outgoing, settings, deadline)
    except Exception as exc:  # a sink bug must not lose the result document
        doc.errors.append(f"delivery failed: {type(exc).__name__}")
    return doc


def run_timer_job(
    *,
    job: str,
    settings: Settings,
    issues: Sequence[str],
    apps: Sequence[App],
    window: Optional[Window],
    granularity: str,
    deps: JobDeps,
    query_deadline: Optional[float],
    deadline: Optional[float],
    send_test: bool = False,
    trigger_name: Optional[str] = None,
    claim_ttl: Optional[float] = None,
) -> ResultDocument:
    """`report`, `check` or `doctor`; config issues become critical config_error alerts.

    With a state store (docs/state.md) the run is idempotent, alerts follow their lifecycle
    and settled stats are cached; `state.flow` holds those steps.
    """
    now = deps.now()
    if job == "doctor":
        return run_doctor_job(settings=settings, issues=issues, deps=deps, deadline=deadline, send_test=send_test)
    doc = ResultDocument(kind=job, trigger="timer", generated_at=generated_at(now, settings.timezone))
    state = deps.open_state(settings)
    run = None
    if state is not None:
        from sms_receipt_stats.state.flow import StatefulRun

        run = StatefulRun(state, settings, now)
        early = run.begin(trigger_name, job, window, apps, granularity, claim_ttl, doc)
        if early is not None:  # a replay (retries the outbox), or a duplicate of a run in progress
            return run.settle(early, deps.deliver, deadline)
    try:
        doc.errors.extend(issues)
        doc.alerts.extend(config_alerts(issues, settings.lang))
        assessment = None
        if window is not None and apps:
            try:
                querier = make_querier(settings, deps, query_deadline, state)
            except Exception as exc:  # missing credentials and the like
                message = str(exc)
                doc.errors.append(message)
                doc.alerts.extend(config_alerts([message], settings.lang))
            else:
                doc.results = query_apps(apps, window, granularity, querier, settings.lang,
                                         settings.secret_values())
                if run is not None and settings.receipts_secret is not None and run.state.available:
                    from sms_receipt_stats.state.receipts import attach_receipts  # docs/http-api.md, *Receipts*

                    attach_receipts(run.state, doc.results, window, settings.lang)
                if job == "report":
                    _account(doc, apps, window, querier, settings, now)
                assessment = _assess(job, doc, window, querier, run, settings, now)
                doc.alerts.extend(assessment.alerts)
        if run is not None:
            run.track(doc, assessment or Assessment())
        label_groups(doc.alerts, group_labels(settings))  # docs/alerts.md, *Grouping*
        finish(doc, settings, deps, deadline, run)
    except BaseException:
        if run is not None:
            run.abort()
        raise
    if run is not None:
        run.complete(doc)
    # keep the dashboard's settled days cached (docs/http-api.md, *Dashboard*); a store that failed
    # this run would only cost the warm-up a second budget
    if job == "report" and run is not None and run.state.available:
        try:
            from sms_receipt_stats.dashboard.warm import warm_after_report

            warm_after_report(settings, deps, deadline, now)
        except Exception:
            logger.warning("dashboard cache warm-up failed")
    return doc


def _account(doc: ResultDocument, apps: Sequence[App], window: Window, querier: Querier, settings: Settings,
             now: datetime) -> None:
    """The daily report's balance and send counts (`account.py`), after the receipt stats: a
    failure here adds to `errors` and never touches a result."""
    from sms_receipt_stats.account import account_source, measure_account

    source = account_source(querier.fetcher)
    if source is None:  # a fetcher that cannot make the account calls (a stats-only fake)
        return
    if not any(r.error is None for r in doc.results):
        # every stats call failed (unreachable, too slow, no permission, arrears): the account
        # calls would fail alike and spend what is left of the invocation on it
        return
    try:
        facts = measure_account([a.app_id for a in apps], window, querier, source, now, settings.timezone,
                                settings.lang, settings.secret_values(),
                                rate_app_ids=[a.app_id for a in settings.apps])
    except Exception as exc:  # a bug here must not lose the report
        logger.warning("account calls failed: %s", type(exc).__name__)
        doc.errors.append(f"account calls failed: {type(exc).__name__}")
        return
    for result in doc.results:
        result.send = facts.send.get(result.app_id)
    doc.packages = facts.packages
    doc.errors.extend(facts.errors)


def _assess(job: str, doc: ResultDocument, window: Window, querier: Querier, run: Optional[StatefulRun],
            settings: Settings, now: datetime) -> Assessment:
    """The rules' verdicts on this run's results. With a working state store each job judges the
    rules it owns (docs/alerts.md, *Which job judges what*) on the hours earlier runs saw;
    without one, every rule judges the window alone."""
    evidence = None
    if run is not None and run.state.available:
        drop = rule("success_rate_drop")
        if drop is not None and job in drop.jobs and job == "report":  # the check compares hours in the ledger
            run.trends(doc.results, window, querier)
        evidence = run.evidence(doc.results, window, querier)
    stateful = evidence is not None
    if evidence is None:
        lag = (now - window.end).total_seconds()
        evidence = {r.app_id: Evidence(result=r, window_lag=lag) for r in doc.results}
    ctx = context_of(settings.thresholds, settings.lang, job, stateful, account=doc.packages)
    return assess(doc.results, ctx, evidence)


def apps_by_id(settings: Settings) -> Dict[str, App]:
    return {a.app_id: a for a in settings.apps}


def run_doctor_job(*, settings: Settings, issues: Sequence[str], deps: JobDeps, deadline: Optional[float],
                   send_test: bool = False) -> ResultDocument:
    """The doctor's checklist inside SCF, with the function's own role; each failure is an alert.

    A healthy run sends nothing (like `check`); `send_test` sends a marked test message to every
    sink. The checks share what is left of the time limit (`deadline`); a run whose essentials
    were skipped is "not verified", which is an alert too: silence must not read as health.
    """
    from sms_receipt_stats.catalogue import classify
    from sms_receipt_stats.doctor import run_doctor, summarize

    now = deps.now()
    checks = run_doctor(settings, issues, fetcher_factory=deps.fetcher_factory, now=now,
                        server_time=deps.server_time, deliver=deps.deliver, send_test=send_test, deadline=deadline,
                        monotonic=deps.monotonic)
    doc = ResultDocument(kind="doctor", trigger="timer", generated_at=generated_at(now, settings.timezone),
                         checks=[c.model_dump(mode="json") for c in checks])
    doc.errors.extend(issues)
    for check in checks:
        if check.status != "fail":
            continue
        message = f"doctor: {check.name}: {check.detail}"
        if check.code and check.code != "AuthFailure.SecretIdNotFound":
            doc.alerts.append(Alert(rule="api_error", severity=classify(check.code).severity, value=check.code,
                                    message=message, code=check.code, hint=check.hint))
        else:
            doc.alerts.append(Alert(rule="config_error", severity="critical", message=message,
                                    code="ConfigError", hint=check.hint))
    summary = summarize(checks)
    if summary.verdict == "not verified":
        doc.alerts.append(Alert(rule="config_error", severity="critical", code="ConfigError",
                                message=f"doctor: {summary.line()}",
                                hint="Give the function its credentials and SMS_SDK_APP_IDS, and a time limit "
                                     "long enough for the checks; then run the doctor again."))
    return finish(doc, settings, deps, deadline)


def ping_heartbeat(result: Dict[str, Any], url: str, sinks_configured: bool, seconds: float,
                   time_left: Optional[float]) -> Dict[str, Any]:
    """Ping HEARTBEAT_URL with the run's verdict (`notify/heartbeat.py`) and add its outcome to the
    returned document's `deliveries` (the sinks have had theirs already). Never raises."""
    from sms_receipt_stats.notify.heartbeat import judge, send

    try:
        beat = judge(result, sinks_configured, seconds)
        error = send(url, beat, time_left=time_left)
        outcome = {"sink": "heartbeat", "ok": error is None, "attempts": 1,
                   "error": None if error is None else f"heartbeat ({'success' if beat.ok else 'fail'} ping): {error}"}
        return {**result, "deliveries": [*result.get("deliveries", []), outcome]}
    except Exception as exc:  # the ping is a courtesy to the watcher: it never costs the run
        logger.warning("heartbeat not sent (%s)", type(exc).__name__)
        return result
