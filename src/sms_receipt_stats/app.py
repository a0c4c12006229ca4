"""The doorway behind `handler.main_handler`: classify the event, hand it on, never raise.

`app` tells a timer event (`events.TimerEvent`) from an HTTP one (`events.ApiGatewayEvent`):
a timer event goes to its job in `jobs` (reports and checks, the doctor), an HTTP event to the
route table of `http/` (lookups, the dashboard, silences, health), which answers its errors.
A bug anywhere is answered here, never raised.

Importing this module (SCF's cold start) loads only what every event needs: settings,
logging and the event models. Each path imports its own modules when it runs, so a timer
never loads the HTTP layer and a `/health` probe never loads jobs, the query layer or the SDK.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from sms_receipt_stats import log, redaction
from sms_receipt_stats.config import ConfigIssue, Settings, load_settings
from sms_receipt_stats.events import ApiGatewayEvent, EventError, TimerEvent, event_kind, parse_timer_message
from sms_receipt_stats.text import shorten
from sms_receipt_stats.vocabulary import VOCABULARY

if TYPE_CHECKING:
    from sms_receipt_stats.jobs import JobDeps

logger = logging.getLogger("sms_receipt_stats.app")

#: time kept back from the SCF limit for returning the result
RESERVE_SECONDS = 1.5

#: SCF runs an invocation 24 h at most (asynchronous execution); a context asking more is wrong,
#: and a longer wait would overflow the threads' timeouts
MAX_TIME_LIMIT_SECONDS = 86_400


def _context_value(context: Any, key: str) -> Any:
    if isinstance(context, Mapping):
        return context.get(key)
    return getattr(context, key, None)


def time_limit(context: Any) -> Optional[float]:
    """Seconds SCF gives this invocation (context `time_limit_in_ms`), if known."""
    raw = _context_value(context, "time_limit_in_ms")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return min(value / 1000.0, MAX_TIME_LIMIT_SECONDS) if value > 0 else None


def default_deps() -> JobDeps:
    """The real clocks, SDK and sinks; built only by the paths that query or deliver."""
    from sms_receipt_stats.jobs import JobDeps

    return JobDeps()


def _now(deps: Optional[JobDeps]) -> datetime:
    return deps.now() if deps is not None else datetime.now(timezone.utc)


def _request_id(event: Any) -> Optional[str]:
    """The API Gateway request id of `event`, if it has a well-formed one; never raises."""
    try:
        parsed = ApiGatewayEvent.parse(event) if isinstance(event, Mapping) else None
        return parsed.request_id if parsed is not None else None
    except Exception:  # the 500 path must answer whatever the event holds
        return None


def _configuration(env: Mapping[str, str]) -> Tuple[Settings, List[ConfigIssue], Any]:
    """Settings, their issues and the prepared secrets. `load_settings` never raises on a value;
    should it fail all the same (a bug), the defaults run and the failure is one issue, so the
    handler still answers: a timer run with a config_error, an HTTP event with its route's answer."""
    try:
        settings, issues = load_settings(env)
        return settings, issues, redaction.prepare(settings.secret_values())
    except Exception as exc:
        logger.error(f"configuration could not be loaded ({type(exc).__name__})", extra={"code": "ConfigError"})
        issue = ConfigIssue("configuration", f"could not be loaded ({type(exc).__name__}); using the defaults")
        return Settings(), [issue], redaction.prepare([])


#: the heartbeat ping ends this long before SCF's time limit at the latest
HEARTBEAT_MARGIN_SECONDS = 0.5


def handle(event: Any, context: Any = None, *, env: Optional[Mapping[str, str]] = None,
           deps: Optional[JobDeps] = None) -> Dict[str, Any]:
    clock = deps.monotonic if deps is not None else time.monotonic
    started = clock()
    limit = time_limit(context)
    deadline = started + limit - RESERVE_SECONDS if limit else None
    settings, issues, secrets = _configuration(os.environ if env is None else env)
    log.configure(_context_value(context, "request_id"), secrets)
    kind = event_kind(event)
    try:
        if kind == "apigw" and issues:  # a timer run alerts on them; an HTTP answer is not the place
            logger.warning("configuration problems: " + ", ".join(sorted({i.variable for i in issues}))
                           + " (a timer run reports them as config_error)", extra={"code": "ConfigError"})
        if kind == "timer":
            result = handle_timer(TimerEvent.parse(event), settings, [str(i) for i in issues],
                                  deps or default_deps(), started, deadline)
        elif kind == "apigw":
            result = handle_apigw(event, settings, deps, deadline, _context_value(context, "request_id"))
        else:
            from sms_receipt_stats.documents import ResultDocument
            from sms_receipt_stats.measure import generated_at

            doc = ResultDocument(kind="error", trigger="unknown",
                                 generated_at=generated_at(_now(deps), settings.timezone),
                                 errors=["unsupported event: expected an SCF timer event "
                                         "(Type=Timer) or an HTTP event (httpMethod, path)"])
            result = doc.to_json_dict()
    except Exception as exc:  # the last line of defence: a bug answers, it never raises
        logger.error(f"unexpected failure ({type(exc).__name__})", extra={"code": "InternalError"})
        if kind == "apigw":
            from sms_receipt_stats.http.errors import internal_error_response

            result = internal_error_response(_request_id(event))
        else:
            from sms_receipt_stats.measure import generated_at

            result = {"schema": "sms-receipt-stats/v1", "kind": "error", "trigger": kind or "unknown",
                      "generated_at": generated_at(_now(deps), settings.timezone), "results": [],
                      "alerts": [], "deliveries": [], "errors": [f"internal error: {type(exc).__name__}"]}
    if kind == "timer" and settings.heartbeat_url is not None:
        from sms_receipt_stats.jobs import ping_heartbeat

        result = ping_heartbeat(result, settings.heartbeat_url.get_secret_value(), bool(settings.sinks),
                                clock() - started,
                                None if not limit else started + limit - HEARTBEAT_MARGIN_SECONDS - clock())
    logger.info("done", extra={"trigger": kind or "unknown",
                               "elapsed_ms": int((clock() - started) * 1000)})
    # defence in depth: no configured secret (nor a quoted prefix of one) survives in the output
    return redaction.redact(result, secrets, keep=VOCABULARY)


#: unknown Message.app_ids quoted in the issue; the rest are counted (the result stays small)
MAX_UNKNOWN_SHOWN = 5
#: longest configuration issue kept in a result (the rest is cut)
MAX_ISSUE_CHARS = 500


def unknown_ids_issue(unknown: List[str]) -> str:
    """One issue for every id of Message.app_ids not configured: a few number-like ones quoted,
    the rest counted (an id that does not even look like a number is never quoted)."""
    from sms_receipt_stats.config import number_like

    quoted = [repr(a) for a in unknown if number_like(a)][:MAX_UNKNOWN_SHOWN]
    if len(unknown) == 1:
        what = quoted[0] if quoted else "an entry that is not an SmsSdkAppId"
        return f"Message.app_ids: {what} is not one of the ids in SMS_SDK_APP_IDS"
    text = f"Message.app_ids: {len(unknown)} ids are not in SMS_SDK_APP_IDS"
    if quoted:
        text += ": " + ", ".join(quoted)
        if len(unknown) > len(quoted):
            text += f" and {len(unknown) - len(quoted)} more"
    return text


#: how long after its `Time` a timer event may still be a retry of that firing. Tencent's docs
#: show `Time` without saying whether it is this firing's schedule or the trigger's creation
#: time (docs/troubleshooting.md, *Timer `Time`*); a short horizon is right under both readings:
#: a retry minutes later keeps its firing's window (and idempotency key), while a creation time
#: is soon older than this and every later firing computes its window from now
RETRY_HORIZON_SECONDS = 20 * 60


def scheduled_time(event: TimerEvent, now: datetime) -> datetime:
    """The instant named windows are computed from: the event's `Time` when it is this firing's.

    A retried timer event carries its original `Time`, so a report retried just after midnight
    still reports the `yesterday` it was scheduled for, and its idempotency key (docs/state.md)
    is the first run's. A missing, malformed or future `Time`, or one older than
    RETRY_HORIZON_SECONDS (a creation time, a saved console test event, a late retry) means now.
    """
    raw = event.Time
    if raw is None or len(raw) > 40:
        return now
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return now
    if moment.tzinfo is None:
        return now
    age = (now - moment).total_seconds()
    return moment if 0 <= age <= RETRY_HORIZON_SECONDS else now


def handle_timer(event: TimerEvent, settings: Settings, issues: List[str], deps: JobDeps,
                 started: float, deadline: Optional[float]) -> Dict[str, Any]:
    from sms_receipt_stats.jobs import apps_by_id, run_timer_job
    from sms_receipt_stats.windows import WindowError, resolve_window

    job, window, granularity, apps, send_test = "report", None, "total", [], False
    try:
        message = parse_timer_message(event.Message)
    except EventError as exc:
        issues.append(str(exc))
        message = None
    if message is not None:
        job, granularity, send_test = message.job, message.granularity, message.send_test
        configured = apps_by_id(settings)
        if not configured:
            issues.append("SMS_SDK_APP_IDS: not set; timer jobs need at least one SmsSdkAppId")
        wanted = message.app_ids if message.app_ids is not None else list(configured)
        wanted = list(dict.fromkeys(wanted))  # an id listed twice is queried and reported once
        apps = [configured[a] for a in wanted if a in configured]
        unknown = [a for a in wanted if a not in configured]
        if unknown:
            issues.append(unknown_ids_issue(unknown))
        spec = message.window if isinstance(message.window, str) else message.window.model_dump()
        try:
            window = resolve_window(spec, scheduled_time(event, deps.now()), settings.timezone, granularity)
        except WindowError as exc:
            issues.append(f"Message.window: {exc.message} ({exc.code})")
    # a Message value may be huge and quoted in its issue: the result must stay far below SCF's 6 MB
    issues = [shorten(i, MAX_ISSUE_CHARS) for i in issues]
    query_deadline = None
    if deadline is not None:
        # keep time for delivery: a report nobody receives is a report lost
        query_deadline = deadline - min(10.0, 0.3 * (deadline - started))
    logger.info("timer job", extra={"job": job})
    # an idempotent run's claim lasts as long as SCF lets this invocation live
    claim_ttl = deadline - started + RESERVE_SECONDS if deadline is not None else None
    doc = run_timer_job(job=job, settings=settings, issues=issues, apps=apps, window=window,
                        granularity=granularity, deps=deps, query_deadline=query_deadline, deadline=deadline,
                        send_test=send_test, trigger_name=event.TriggerName,
                        claim_ttl=claim_ttl)
    return doc.to_json_dict()


def handle_apigw(raw: Mapping[str, Any], settings: Settings, deps: Optional[JobDeps],
                 deadline: Optional[float], invocation_id: Any = None) -> Dict[str, Any]:
    """An HTTP event: the route table of `http/` answers it (its errors included). The job's
    edges are built only when a route needs them: `/health` never loads `jobs`."""
    from sms_receipt_stats.http.router import dispatch

    return dispatch(raw, settings, lambda: deps or default_deps(), deadline, invocation_id)
