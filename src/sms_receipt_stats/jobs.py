"""Every job: report, check and doctor (timer), the stats lookup, the dashboard and silences (HTTP).

Orchestration only. Data flows one way: window → query tasks → outcomes → app results →
alerts → sinks → result document. Every dependency with a side effect (fetcher, clocks, sleep,
delivery, state store) comes in through `JobDeps`, so tests need no monkeypatching. HTTP jobs
answer an HTTP response or raise `api.ApiError`, which `app` turns into its answer.
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
from sms_receipt_stats.query import StatsFetcher
from sms_receipt_stats.results import generated_at, make_querier, query_apps
from sms_receipt_stats.rules import config_alerts, evaluate
from sms_receipt_stats.vocabulary import VOCABULARY
from sms_receipt_stats.windows import Window

if TYPE_CHECKING:
    from sms_receipt_stats.events import ApiGatewayEvent
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


def run_lookup(event: ApiGatewayEvent, settings: Settings, deps: JobDeps,
               deadline: Optional[float]) -> Dict[str, Any]:
    """GET/POST /stats (authenticated already): one app's counters for a window, as the 200 answer.

    Raises ApiError for bad parameters, missing credentials and an upstream failure.
    """
    from sms_receipt_stats.api import ApiError, collect_params, upstream_error, validate_lookup
    from sms_receipt_stats.events import http_response
    from sms_receipt_stats.sdk import MissingCredentials

    params = collect_params(event)
    app, window, granularity = validate_lookup(params, settings, deps.now())
    state = deps.open_state(settings)  # settled spans of a lookup come from the cache
    try:
        try:
            querier = make_querier(settings, deps, deadline, state)
        except MissingCredentials as exc:
            raise ApiError(502, "AuthFailure.SecretIdNotFound", str(exc)) from None
        result = query_apps([app], window, granularity, querier, settings.lang, settings.secret_values())[0]
    finally:
        if state is not None:
            state.close()
    if result.error is not None:
        raise upstream_error(result.error)
    logger.info("lookup", extra={"status": 200, "app_id": app.app_id})
    return http_response(200, result.model_dump(mode="json"))


def run_dashboard(event: ApiGatewayEvent, settings: Settings, deps: JobDeps,
                  deadline: Optional[float]) -> Dict[str, Any]:
    """GET /dashboard: the page, with alerts, silences and settled days from the state store."""
    from sms_receipt_stats.dashboard import handle_dashboard

    store = deps.open_state(settings)
    try:
        return handle_dashboard(event, settings, deps, deadline, store)
    finally:
        if store is not None:
            store.close()


def run_silences(event: ApiGatewayEvent, settings: Settings, deps: JobDeps) -> Dict[str, Any]:
    """/silences (authenticated already): list, add or expire silences in the state store."""
    from sms_receipt_stats.state.http import handle_silences

    return handle_silences(event, settings, deps)


def finish(doc: ResultDocument, settings: Settings, deps: JobDeps, deadline: Optional[float]) -> ResultDocument:
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

    With a state store (README "State") the run is idempotent, alerts follow their lifecycle
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
        if early is not None:
            return early  # a replay, or a duplicate of a run in progress: nothing is sent
    try:
        doc.errors.extend(issues)
        doc.alerts.extend(config_alerts(issues, settings.lang))
        trend_apps: List[str] = []
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
                if run is not None:
                    trend_apps = run.trends(doc.results, window, querier)
                doc.alerts.extend(evaluate(doc.results, settings.thresholds, settings.lang))
        if run is not None:
            run.track(doc, trend_apps)
        finish(doc, settings, deps, deadline)
    except BaseException:
        if run is not None:
            run.abort()
        raise
    if run is not None:
        run.complete(doc)
    return doc


def apps_by_id(settings: Settings) -> Dict[str, App]:
    return {a.app_id: a for a in settings.apps}


def run_doctor_job(*, settings: Settings, issues: Sequence[str], deps: JobDeps, deadline: Optional[float],
                   send_test: bool = False) -> ResultDocument:
    """The doctor's checklist inside SCF, with the function's own role; each failure is an alert.

    A healthy run sends nothing (like `check`); `send_test` sends a test report to every sink.
    """
    from sms_receipt_stats.catalogue import classify
    from sms_receipt_stats.doctor import run_doctor

    now = deps.now()
    checks = run_doctor(settings, issues, fetcher_factory=deps.fetcher_factory, now=now,
                        server_time=deps.server_time, deliver=deps.deliver, send_test=send_test, deadline=deadline)
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
    return finish(doc, settings, deps, deadline)
