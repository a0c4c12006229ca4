"""`doctor`: a checklist of a real setup, one line per check, with the catalogue's hint on failure.

It runs from a terminal (`sms-receipt-stats doctor`) with the current environment, and as the
timer job `{"job": "doctor"}` inside SCF, where it uses the function's own role and settings:
what an operator needs to check right after a deploy (README, *Deploying*, step 7).

Checks, in order: configuration, credentials, endpoint reachable, clock skew against the API
server, permission for each app, the API's hour rule on an app with traffic, each
`NOTIFY_URLS` entry (with `send_test`, a test report delivered), the state store.
A check passes, fails, or is skipped when an earlier failure makes it meaningless, it has
nothing to check or the time limit leaves no room for it (the API checks share what is left of
it). The run is healthy only when nothing failed *and* the essentials (credentials, endpoint,
permission for at least one app) passed; otherwise it is "failed" or "not verified", and the
last line says how many checks ran (docs/troubleshooting.md, *doctor*).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple

from pydantic import BaseModel

from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.query import RateLimiter, StatsFetcher
from sms_receipt_stats.sdk import CloudError, to_cloud_error
from sms_receipt_stats.stats import STAT_FIELDS, Stats, compute_rates

#: the API refuses a request signed further than this from its own clock (X-TC-Timestamp)
MAX_CLOCK_SKEW_SECONDS = 300
#: Beijing hours (of recent days) tried for the hour-rule check, busiest first
HOUR_RULE_CANDIDATES: Tuple[Tuple[int, int], ...] = ((1, 10), (1, 15), (1, 20), (2, 10), (3, 10), (7, 10))
#: the longest one API call of a check may take (and the SDK's own timeout without a time limit)
CALL_TIMEOUT = 10.0
#: a call that would get less than this is not started: the check is skipped for lack of time
MIN_CALL_SECONDS = 0.5
#: how long `http_server_time` waits for the endpoint's Date header
SERVER_TIME_TIMEOUT = 5.0
#: kept back from the API checks for the state store check (two calls, each bounded at 1 s)
STORE_RESERVE_SECONDS = 2.0
#: kept back for `--send-test` deliveries, which share what is left with nothing else
SEND_TEST_RESERVE_SECONDS = 8.0
#: the hour-rule check makes up to three calls
HOUR_RULE_CALLS = 3
#: checks that must have run (and passed) before "nothing failed" means "healthy"
ESSENTIALS = ("credentials", "endpoint", "permission")
_BEIJING = timezone(timedelta(hours=8))
_NETWORK_CODES = ("ClientNetworkError", "ClientError", "ServerNetworkError")
_CLOCK_CODES = ("AuthFailure.SignatureExpire", "InternalError.RequestTimeException")

#: `warn`: works, but is not how it should run (a `cmq+api://` sink, stateless inside SCF); it fails nothing
Status = Literal["pass", "fail", "skip", "warn"]
ServerTime = Callable[[Settings], Optional[datetime]]


class Check(BaseModel):
    """One line of the checklist."""

    name: str
    status: Status
    detail: str
    code: Optional[str] = None
    hint: Optional[str] = None


def http_server_time(settings: Settings, timeout: float = SERVER_TIME_TIMEOUT) -> Optional[datetime]:
    """The API server's clock, from the `Date` header of any answer of its endpoint.

    `timeout` bounds the whole request (`retry.call_within`), not each read: an endpoint that
    drips its answer costs `timeout`, then the clock check says it found no Date header.
    """
    import requests

    from sms_receipt_stats.retry import Overrun, call_within
    from sms_receipt_stats.sdk import BoundedTransport

    url = f"{settings.endpoint.scheme}://{settings.endpoint.host}/"
    transport = BoundedTransport()
    with requests.Session() as session:
        transport.mount(session)
        try:
            answer = call_within(lambda: session.get(url, timeout=timeout, stream=True), timeout, "doctor-date")
        except Overrun:
            transport.abort()  # the abandoned request's reads end now
            return None
        except requests.RequestException:
            return None
        answer.close()  # the headers are all it needs
    date = answer.headers.get("Date")
    try:
        return parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None


def _hour(moment: datetime) -> str:
    return moment.astimezone(_BEIJING).strftime("%Y%m%d%H")


def app_label(app_id: str, name: Optional[str] = None) -> str:
    """How a check names an app: `prod (1400006874)`, or the id alone when it has no name."""
    return f"{name} ({app_id})" if name else app_id


#: what to do (en, zh) about each host-free reason `sdk.network_reason` gives (the catalogue's
#: hint is one for every network error: refused, DNS and unroutable would read alike)
NETWORK_HINTS = {
    "the endpoint's host name could not be resolved (DNS)": (
        "Check the host name of SMS_ENDPOINT (default sms.tencentcloudapi.com) and that the function resolves "
        "public names (in a VPC: its DNS settings).",
        "请检查 SMS_ENDPOINT 的域名（默认 sms.tencentcloudapi.com），"
        "以及函数能否解析公网域名（VPC 内：检查其 DNS 设置）。"),
    "the endpoint refused the connection": (
        "Nothing listens at that host and port: check SMS_ENDPOINT's scheme, host and port, and any proxy.",
        "该地址和端口没有服务在监听：请检查 SMS_ENDPOINT 的协议、域名和端口，以及中间代理。"),
    "connecting to the endpoint timed out": (
        "No connection was made in time: a VPC function needs a NAT gateway or public egress; check security "
        "groups and firewalls on the way to SMS_ENDPOINT.",
        "连接超时：VPC 内的函数需要 NAT 网关或公网出口；请检查通往 SMS_ENDPOINT 的安全组和防火墙。"),
    "there is no network route to the endpoint": (
        "This host has no route to the endpoint: a VPC function needs a NAT gateway or public egress; check "
        "SMS_ENDPOINT.",
        "没有到达该地址的网络路由：VPC 内的函数需要 NAT 网关或公网出口；请检查 SMS_ENDPOINT。"),
    "the TLS handshake with the endpoint failed": (
        "Check SMS_ENDPOINT (https to a Tencent Cloud host) and any proxy that intercepts TLS.",
        "请检查 SMS_ENDPOINT（应为腾讯云域名的 https 地址）以及会拦截 TLS 的代理。"),
}


def _no_answer(err: CloudError, lang: str) -> Tuple[str, Optional[str]]:
    """The endpoint check's detail and hint for a network error: which failure it was, first."""
    from sms_receipt_stats.sdk import UNREACHABLE

    reason = err.message.removeprefix(f"{UNREACHABLE}: ")
    hints = next((h for r, h in NETWORK_HINTS.items() if reason.startswith(r)), None)
    hint = None if hints is None else hints[1 if (lang or "").lower().startswith("zh") else 0]
    what = "no usable answer" if err.code == "ServerNetworkError" else "no answer"  # it answered, not as the API
    return f"{what}: {reason} ({err.code})"[:300], hint


def _failed(name: str, err: CloudError, lang: str, detail: str = "") -> Check:
    from sms_receipt_stats.catalogue import classify  # the catalogue loads on the first failure only

    return Check(name=name, status="fail", detail=detail or f"{err.code}: {err.message}"[:300],
                 code=err.code, hint=classify(err.code).hint(lang))


class Budget:
    """What is left of the time limit, shared out between the API calls still to make.

    Each call gets an equal share of the time left (less what the sinks and the store need),
    at most CALL_TIMEOUT: an endpoint that accepts and never answers costs one share per call,
    and the run ends within its deadline. Without a deadline every call gets CALL_TIMEOUT.
    """

    def __init__(self, deadline: Optional[float], monotonic: Callable[[], float] = time.monotonic,
                 reserve: float = STORE_RESERVE_SECONDS) -> None:
        self.deadline = deadline
        self.monotonic = monotonic
        self.reserve = reserve

    def left(self) -> Optional[float]:
        return None if self.deadline is None else self.deadline - self.monotonic()

    def timeout(self, calls_left: int = 1) -> Optional[float]:
        """The timeout of the next call, or None when there is no time for it."""
        left = self.left()
        if left is None:
            return CALL_TIMEOUT
        share = (left - self.reserve) / max(1, calls_left)
        share = min(CALL_TIMEOUT, share)
        return share if share >= MIN_CALL_SECONDS else None

    def out_of_time(self) -> str:
        left = self.left()
        return f"skipped: out of time ({max(0.0, left or 0.0):.1f} s of the time limit left)"


class _Api:
    """One fetcher under the rate cap, every answer kept: later checks reuse what it learned."""

    def __init__(self, fetcher: StatsFetcher, rps: float) -> None:
        self._fetcher = fetcher
        self._limiter = RateLimiter(rps)
        self.answers: Dict[Tuple[str, str, str], Tuple[Optional[Stats], Optional[CloudError]]] = {}

    def known(self, app_id: str, begin_time: str, end_time: str) -> bool:
        return (app_id, begin_time, end_time) in self.answers

    def ask(self, app_id: str, begin_time: str, end_time: str,
            timeout: Optional[float] = CALL_TIMEOUT) -> Tuple[Optional[Stats], Optional[CloudError]]:
        key = (app_id, begin_time, end_time)
        if key not in self.answers:
            self._limiter.acquire()
            try:
                stats, _ = self._fetcher.fetch(app_id, begin_time, end_time, timeout=timeout)
                self.answers[key] = (stats, None)
            except CloudError as err:
                self.answers[key] = (None, err)
            except Exception as exc:  # a fetcher bug is a failed check, not a crash
                self.answers[key] = (None, to_cloud_error(exc))
        return self.answers[key]


def _add(a: Stats, b: Stats) -> Stats:
    return Stats(**{f: getattr(a, f) + getattr(b, f) for f in STAT_FIELDS})


def check_hour_rule(api: _Api, app_ids: Sequence[str], now: datetime, lang: str,
                    budget: Optional[Budget] = None, names: Optional[Dict[str, Optional[str]]] = None) -> Check:
    """Q(h..h) + Q(h+1..h+1) == Q(h..h+1) on an app with traffic: the API counts EndTime's hour.
    Its detail says so in words (hour h alone plus hour h+1 alone equals the two-hour query).

    Under the other reading (EndTime excluded) Begin == End is refused or empty and
    Q(h..h+1) is hour h alone, so the sums differ; reports would then miss an hour per call.
    """
    name = "hour rule"
    budget = budget or Budget(None)
    today = now.astimezone(_BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)

    def ask(app_id: str, begin: str, end: str, calls_left: int) -> Optional[Tuple[Optional[Stats],
                                                                              Optional[CloudError]]]:
        if api.known(app_id, begin, end):
            return api.ask(app_id, begin, end)
        timeout = budget.timeout(calls_left)
        return None if timeout is None else api.ask(app_id, begin, end, timeout)

    for app_id in app_ids:
        app = app_label(app_id, (names or {}).get(app_id))
        for days_back, hour in HOUR_RULE_CANDIDATES:
            first = today - timedelta(days=days_back) + timedelta(hours=hour)
            h, h1 = _hour(first), _hour(first + timedelta(hours=1))
            answer = ask(app_id, h, h1, HOUR_RULE_CALLS)
            if answer is None:
                return Check(name=name, status="skip", detail=budget.out_of_time())
            both, err = answer
            if err is not None:
                return _failed(name, err, lang)
            if both is None or both.RequestSuccessCount == 0:
                continue  # no traffic: nothing to tell the two readings apart
            first_part = ask(app_id, h, h, 2)
            second_part = ask(app_id, h1, h1, 1) if first_part is not None else None
            if first_part is None or second_part is None:
                return Check(name=name, status="skip", detail=budget.out_of_time())
            (one, err_one), (two, err_two) = first_part, second_part
            if err_one is not None or err_two is not None:
                refused = err_one or err_two
                assert refused is not None
                if refused.code == "InvalidParameterValue.EndTimeVerifyFail":
                    return Check(name=name, status="fail", code=refused.code,
                                 detail=f"the API refused BeginTime == EndTime ({h}) on app {app}: it reads "
                                        "EndTime as excluded, not as the last hour counted; every window "
                                        "this product sends would miss its last hour",
                                 hint="Report this to the maintainers with the output of `doctor --json`.")
                return _failed(name, refused, lang)
            assert one is not None and two is not None
            if _add(one, two) == both:
                return Check(name=name, status="pass",
                             detail=f"the API counts both hours it is given: hour {h} alone plus hour {h1} alone "
                                    f"equals the two-hour query {h}..{h1} on app {app} ({both.RequestSuccessCount} "
                                    "submitted), so EndTime's hour is counted")
            reading = ("EndTime's hour is not counted (half-open)" if one == both
                       else "the parts do not add up (receipts still arriving?)")
            return Check(name=name, status="fail",
                         detail=f"hour {h} alone plus hour {h1} alone does not equal the two-hour query "
                                f"{h}..{h1} on app {app}: {reading}",
                         hint="Run doctor again; if it persists, report it with the output of `doctor --json`.")
    return Check(name=name, status="skip", detail="no app had traffic in the hours tried; nothing to compare")


def run_doctor(settings: Settings, issues: Sequence[object], *, fetcher_factory: Callable[[Settings], StatsFetcher],
               now: datetime, server_time: ServerTime = http_server_time,
               deliver: Optional[Callable[[ResultDocument, Settings, Optional[float]], list]] = None,
               send_test: bool = False, deadline: Optional[float] = None,
               monotonic: Callable[[], float] = time.monotonic) -> List[Check]:
    """Every check, in order, within `deadline` (on `monotonic`'s clock); never raises.

    The API checks share the time left (`Budget`); once the endpoint has not answered, the
    checks that need it (permission, hour rule) are skipped with that reason instead of each
    waiting for their own timeout.
    """
    lang = settings.lang
    reserve = STORE_RESERVE_SECONDS + (SEND_TEST_RESERVE_SECONDS if send_test and settings.sinks else 0.0)
    budget = Budget(deadline, monotonic, reserve)
    checks: List[Check] = []
    config = [str(i) for i in issues if not str(i).startswith("NOTIFY_URLS")]
    checks.append(Check(name="configuration", status="fail" if config else "pass",
                        detail="; ".join(config)[:500] if config else "every variable parsed",
                        hint="Fix the variables named above." if config else None))

    if not settings.secret_id or settings.secret_key is None:
        checks.append(Check(name="credentials", status="fail", code="AuthFailure.SecretIdNotFound",
                            detail="none found: TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY (SCF's execution "
                                   "role) or TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY",
                            hint="Give the function an execution role, or set the variables locally."))
        fetcher: Optional[StatsFetcher] = None
    else:
        kind = "temporary, with a session token" if settings.session_token else "permanent keys"
        checks.append(Check(name="credentials", status="pass", detail=f"found ({kind})"))
        try:
            fetcher = fetcher_factory(settings)
        except Exception as exc:
            checks.append(_failed("credentials", to_cloud_error(exc), lang))
            fetcher = None

    apps = [a.app_id for a in settings.apps]
    results: List[AppResult] = []
    if fetcher is None or not apps:
        reason = "no credentials" if fetcher is None else "SMS_SDK_APP_IDS is not set"
        for name in ("endpoint", "clock", "permission", "hour rule"):
            checks.append(Check(name=name, status="skip", detail=f"skipped: {reason}"))
    else:
        results = _api_checks(settings, fetcher, apps, now, server_time, budget, checks)

    checks.extend(_check_sinks(settings, issues, results, now, deliver, send_test, deadline, list(checks),
                               monotonic=monotonic))
    checks.append(check_state_store(settings))
    return checks


def _api_checks(settings: Settings, fetcher: StatsFetcher, apps: List[str], now: datetime, server_time: ServerTime,
                budget: Budget, checks: List[Check]) -> List[AppResult]:
    """endpoint, clock, permission per app and the hour rule, appended to `checks`, within `budget`."""
    lang = settings.lang
    api = _Api(fetcher, settings.api_rps)
    # two hours, so that the probe is valid under either reading of EndTime (see check_hour_rule)
    probe = now.astimezone(_BEIJING).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    begin, end = _hour(probe), _hour(probe + timedelta(hours=1))
    timeout = budget.timeout(len(apps) + HOUR_RULE_CALLS)
    if timeout is None:
        for name in ("endpoint", "clock", "permission", "hour rule"):
            checks.append(Check(name=name, status="skip", detail=budget.out_of_time()))
        return []
    _, first_err = api.ask(apps[0], begin, end, timeout)
    reachable = first_err is None or not first_err.code.startswith(_NETWORK_CODES)
    if reachable:
        checks.append(Check(name="endpoint", status="pass",
                            detail=f"{settings.endpoint.scheme} endpoint answered (region {settings.region})"))
    else:
        assert first_err is not None
        detail, hint = _no_answer(first_err, lang)
        failed = _failed("endpoint", first_err, lang, detail)
        checks.append(failed.model_copy(update={"hint": hint}) if hint else failed)
        checks.append(Check(name="clock", status="skip", detail="skipped: the endpoint did not answer"))
        for app in settings.apps:
            checks.append(Check(name=f"permission {app_label(app.app_id, app.name)}", status="skip",
                                detail="skipped: the endpoint did not answer"))
        checks.append(Check(name="hour rule", status="skip", detail="skipped: the endpoint did not answer"))
        return []
    left = budget.left()
    if budget.timeout(len(apps) + HOUR_RULE_CALLS) is None or (
            left is not None and left - budget.reserve < SERVER_TIME_TIMEOUT + MIN_CALL_SECONDS):
        checks.append(Check(name="clock", status="skip", detail=budget.out_of_time()))
    else:
        checks.append(_check_clock(settings, now, server_time, first_err, reachable, lang))
    results: List[AppResult] = []
    for index, app in enumerate(settings.apps):
        name = f"permission {app_label(app.app_id, app.name)}"
        if api.known(app.app_id, begin, end):
            stats, err = api.ask(app.app_id, begin, end)
        else:
            timeout = budget.timeout(len(apps) - index + HOUR_RULE_CALLS)
            if timeout is None:
                checks.append(Check(name=name, status="skip", detail=budget.out_of_time()))
                continue
            stats, err = api.ask(app.app_id, begin, end, timeout)
        if err is not None:
            checks.append(_failed(name, err, lang))
            continue
        assert stats is not None
        checks.append(Check(name=name, status="pass",
                            detail=f"CallbackStatusStatistics allowed ({stats.RequestSuccessCount} submitted "
                                   f"in {begin}..{end} Beijing time)"))
        window = WindowDoc(begin=begin, end=_hour(probe + timedelta(hours=2)), timezone="Asia/Shanghai")
        results.append(AppResult(app_id=app.app_id, app_name=app.name, window=window, stats=stats,
                                 rates=compute_rates(stats)))
    allowed = [r.app_id for r in results]
    if allowed:
        checks.append(check_hour_rule(api, allowed, now, lang, budget, {a.app_id: a.name for a in settings.apps}))
    else:
        checks.append(Check(name="hour rule", status="skip", detail="skipped: no app could be queried"))
    return results


def check_state_store(settings: Settings, env: Optional[Mapping[str, str]] = None) -> Check:
    """A write and a read back under STATE_PREFIX, within the store's own bounds (<= 1 s a call).

    Without a store: `stateless_check` of the process environment (`env`, for tests)."""
    if settings.state_url is None:
        return stateless_check(os.environ if env is None else env)
    from sms_receipt_stats.state.flow import open_state

    store = open_state(settings)
    if store is None:
        return stateless_check(os.environ if env is None else env)
    try:
        token = datetime.now(timezone.utc).isoformat()
        written = store.set("doctor:probe", token, 60)
        read = store.get("doctor:probe")
    finally:
        store.close()
    if written and read == token:
        return Check(name="state store", status="pass", detail=f"reachable: wrote and read back a key "
                                                                f"under {settings.state_prefix!r}")
    return Check(name="state store", status="fail", detail=f"not usable: {store.problem or 'read back nothing'}",
                 hint="Check STATE_URL (host, port, password, database) and that the function's VPC reaches it; "
                      "without it the function runs stateless.")


#: what SCF sets in every function's environment (SCF docs, product 583, "Environment Variables",
#: built-in variables: TENCENTCLOUD_RUNENV=SCF; the SCF_ prefix is reserved, e.g. SCF_RUNTIME)
SCF_MARKERS = ("SCF_RUNTIME", "SCF_FUNCTIONNAME")


def running_in_scf(env: Mapping[str, str]) -> bool:
    return env.get("TENCENTCLOUD_RUNENV", "").upper() == "SCF" or any(env.get(k) for k in SCF_MARKERS)


def stateless_check(env: Mapping[str, str]) -> Check:
    """No STATE_URL: nothing to check on a terminal; inside SCF a warning that says what it costs."""
    if not running_in_scf(env):
        return Check(name="state store", status="skip", detail="STATE_URL is not set: stateless")
    return Check(name="state store", status="warn",
                 detail="STATE_URL is not set: this function runs stateless. No alert is followed by a "
                        "resolved notice, every check alerts anew, a notice a sink missed is lost (no outbox) "
                        "and nothing is cached (every report asks the API for every day)",
                 hint="Give it a store: TencentDB for Redis in the function's VPC, STATE_URL from the "
                      "deployer's .env (docs/deploy.md, Stateful deploy).")


def _check_clock(settings: Settings, now: datetime, server_time: ServerTime, first_err: Optional[CloudError],
                 reachable: bool, lang: str) -> Check:
    if first_err is not None and first_err.code in _CLOCK_CODES:
        return _failed("clock", first_err, lang)
    if not reachable:
        return Check(name="clock", status="skip", detail="skipped: the endpoint did not answer")
    server = server_time(settings)
    if server is None:
        return Check(name="clock", status="skip", detail="the server's answer had no Date header to compare with")
    skew = (now - server).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        from sms_receipt_stats.catalogue import classify

        return Check(name="clock", status="fail", code="InternalError.RequestTimeException",
                     detail=f"this clock is {skew:+.0f} s off the API server's (more than "
                            f"{MAX_CLOCK_SKEW_SECONDS} s: every request is refused)",
                     hint=classify("InternalError.RequestTimeException").hint(lang))
    return Check(name="clock", status="pass", detail=f"{skew:+.0f} s from the API server's clock")


def send_test_document(settings: Settings, results: List[AppResult], now: datetime,
                  checks: Sequence[Check]) -> ResultDocument:
    """What `--send-test` sends: a report marked as a doctor test (its `checks` set: the chat title
    says TEST, docs/sinks.md), with the apps that could be queried and every check that failed."""
    from sms_receipt_stats.measure import generated_at

    failed = [f"doctor test: {c.name}: FAILED: {c.detail}" for c in checks if c.status == "fail"]
    return ResultDocument(kind="report", trigger="cli", generated_at=generated_at(now, settings.timezone),
                          results=results, errors=failed, checks=[c.model_dump(mode="json") for c in checks])


def _check_sinks(settings: Settings, issues: Sequence[object], results: List[AppResult], now: datetime,
                 deliver: Optional[Callable[[ResultDocument, Settings, Optional[float]], list]], send_test: bool,
                 deadline: Optional[float], so_far: Sequence[Check] = (),
                 monotonic: Callable[[], float] = time.monotonic) -> List[Check]:
    checks: List[Check] = []
    bad = [str(i) for i in issues if str(i).startswith("NOTIFY_URLS")]
    for text in bad:
        checks.append(Check(name="sink", status="fail", detail=text[:300],
                            hint="Fix the entry in NOTIFY_URLS (docs/sinks.md)."))
    if not settings.sinks and not bad:
        return [Check(name="sinks", status="skip", detail="NOTIFY_URLS is not set: results are only returned")]
    deliveries: list = []
    if send_test and settings.sinks and deliver is not None:
        doc = send_test_document(settings, results, now, [*so_far, *checks])
        try:
            deliveries = list(deliver(doc, settings, deadline))
        except Exception as exc:
            deliveries = []
            checks.append(Check(name="sinks", status="fail", detail=f"delivery failed: {type(exc).__name__}"))
    pending = list(deliveries)
    for spec in settings.sinks:
        name = f"sink {spec.label}"
        if spec.kind == "ckafka":
            checks.append(check_ckafka_datahub(spec, settings, deadline))
        if not send_test:
            if spec.kind == "amqp":
                checks.append(_check_amqp(spec, name, deadline))
                continue
            checks.append(Check(name=name, status="pass", detail=f"parsed ({spec.kind}, min_severity "
                                                                  f"{spec.min_severity}); --send-test delivers one"))
            continue
        if spec.min_severity != "info":
            checks.append(Check(name=name, status="skip",
                                detail=f"parsed; gets only {spec.min_severity} alerts, so no test report was sent"))
            continue
        delivery = pending.pop(0) if pending else None
        if delivery is None:
            checks.append(Check(name=name, status="fail", detail="parsed, but nothing was delivered"))
        elif delivery.ok:
            checks.append(Check(name=name, status="pass",
                                detail=f"test report delivered ({delivery.attempts} attempt(s))"))
        else:
            checks.append(Check(name=name, status="fail", detail=f"test report not delivered: {delivery.error}",
                                hint="Check the URL, key and secret of this entry, and the network path to it."))
    for spec in settings.sinks:
        checks.extend(_cmq_checks(spec, deadline, monotonic))
    return checks


def check_ckafka_datahub(spec: Any, settings: Settings, deadline: Optional[float]) -> Check:
    """A `ckafka://` entry without sending: its DataHub is a running data access task of its region,
    and CKafka accepts the credentials (`DescribeDatahubTasks`, docs/sinks.md, *CKafka*)."""
    from sms_receipt_stats.notify.base import DeliveryError
    from sms_receipt_stats.notify.platforms import ckafka

    name = f"datahub {spec.label}"
    timeout = CALL_TIMEOUT if deadline is None else min(CALL_TIMEOUT, deadline - time.monotonic())
    if timeout < MIN_CALL_SECONDS:
        return Check(name=name, status="skip", detail="skipped: no time left")
    region = spec.region or settings.region
    try:
        task, listed = ckafka.find_datahub(spec, settings, timeout)
    except DeliveryError as exc:
        return Check(name=name, status="fail", detail=exc.message,
                     hint="Fix the entry in NOTIFY_URLS (docs/sinks.md, CKafka).")
    except CloudError as err:
        return _failed(name, err, settings.lang, f"{ckafka.LIST_ACTION} in {region} failed ({err.code}: "
                                                 f"{err.message})"[:300])
    if task is None:
        return Check(name=name, status="fail", code="ResourceNotFound",
                     detail=f"no data access task has DataHub id {spec.name} among the {listed} listed in {region}",
                     hint="Copy the DataHub id from the data access task's details in the CKafka console, and set "
                          "region= to the task's region (docs/sinks.md, CKafka).")
    status = task.get("Status")
    state = ckafka.TASK_STATUS.get(status, f"in status {status}") if isinstance(status, int) else "in no status"
    what = f"task {task.get('TaskName')} ({task.get('TaskId')}) in {region}"
    if status != 1:
        return Check(name=name, status="fail",
                     detail=f"{what} is {state}, not running",
                     hint="Start or repair the data access task in the CKafka console; until then SendMessage "
                          "fails.")
    return Check(name=name, status="pass", detail=f"{what} is running; CKafka accepted the credentials")
#: how long the reachability check of a `cmq://` address waits at most
CMQ_CONNECT_TIMEOUT = 3.0


def _cmq_checks(spec: Any, deadline: Optional[float], monotonic: Callable[[], float] = time.monotonic) -> List[Check]:
    """What can be told of a CMQ entry without sending (docs/sinks.md, *CMQ*).

    `cmq://`: the address answers (a TCP connection; the data-flow API has no harmless read
    action, so credentials are proven only by `--send-test`). `cmq+api://`: a warning, it is the
    management API, capped and meant for tests."""
    name = f"sink {spec.label}"
    if spec.kind in ("cmq_api_queue", "cmq_api_topic"):
        return [Check(name=name, status="warn",
                      detail="cmq+api:// sends with SendCmqMsg/PublishCmqMsg, the management API: capped at "
                             "20 requests/s (10 for a sub-account) and for testing only",
                      hint="Use cmq://queue|topic/NAME#endpoint=ADDR (the data-flow API), ADDR copied from the "
                           "TDMQ for CMQ console, Queue Service > API request address.")]
    if spec.kind not in ("cmq_queue", "cmq_topic"):
        return []
    import socket
    from urllib.parse import urlsplit

    from sms_receipt_stats.endpoint import parse_endpoint

    endpoint = parse_endpoint(spec.endpoint or "")
    parts = urlsplit(f"{endpoint.scheme}://{endpoint.host}")
    left = None if deadline is None else deadline - monotonic() - STORE_RESERVE_SECONDS  # the store check comes next
    timeout = CMQ_CONNECT_TIMEOUT if left is None else min(CMQ_CONNECT_TIMEOUT, left)
    if timeout < MIN_CALL_SECONDS:
        return [Check(name=f"{name} address", status="skip", detail="skipped: out of time")]
    try:
        with socket.create_connection((parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)),
                                      timeout=timeout):
            pass
    except OSError as exc:
        return [Check(name=f"{name} address", status="fail",
                      detail=f"the endpoint= address does not answer ({type(exc).__name__})",
                      hint="Copy the address again from the TDMQ for CMQ console (Queue Service > API request "
                           "address): the VPC address answers only inside its VPC, the public one needs internet.")]
    return [Check(name=f"{name} address", status="pass",
                  detail="the endpoint= address answers; credentials are proven only by a send (--send-test)")]
def _check_amqp(spec: Any, name: str, deadline: Optional[float]) -> Check:
    """An amqp entry without sending: the broker answers, takes the login and the vhost, and the
    exchange exists (a passive declare). `--send-test` then publishes the marked test report."""
    from sms_receipt_stats.notify.platforms.amqp import probe

    timeout = Budget(deadline).timeout()
    if timeout is None:
        return Check(name=name, status="skip", detail=Budget(deadline).out_of_time())
    problem = probe(spec, timeout)
    if problem is None:
        exchange = spec.param("exchange") or "the default exchange"
        return Check(name=name, status="pass", detail=f"broker reached, login and vhost accepted, {exchange} "
                                                      "exists; --send-test publishes one")
    return Check(name=name, status="fail", detail=f"broker check failed: {problem}",
                 hint="Check the host, port, vhost, user and password of this entry (docs/sinks.md, AMQP), and "
                      "that the exchange exists.")


def healthy(checks: Sequence[Check]) -> bool:
    """Nothing failed (which says nothing of what was skipped: see `verdict`)."""
    return not any(c.status == "fail" for c in checks)


@dataclass(frozen=True)
class Summary:
    """How much of the checklist ran, and what that allows to conclude."""

    total: int
    ran: int
    skipped: int
    failed: int
    #: essentials (ESSENTIALS) that did not pass: without them "nothing failed" proves nothing
    unverified: Tuple[str, ...]

    @property
    def verdict(self) -> str:
        """`failed`, `not verified` (nothing failed, but an essential check did not pass) or `healthy`."""
        if self.failed:
            return "failed"
        return "not verified" if self.unverified else "healthy"

    @property
    def ok(self) -> bool:
        return self.verdict == "healthy"

    def line(self) -> str:
        text = f"{self.ran} of {self.total} checks ran, {self.skipped} skipped, {self.failed} failed: "
        if self.verdict == "not verified":
            return text + f"NOT VERIFIED ({', '.join(self.unverified)} did not run)"
        return text + ("FAILED" if self.failed else "healthy")

    def as_dict(self) -> Dict[str, Any]:
        return {"ok": self.ok, "verdict": self.verdict, "total": self.total, "ran": self.ran,
                "skipped": self.skipped, "failed": self.failed, "unverified": list(self.unverified)}


def summarize(checks: Sequence[Check]) -> Summary:
    """Count the checklist; an essential passes when one check of that name (or `name <app>`) passed."""
    unverified = tuple(e for e in ESSENTIALS
                       if not any(c.status == "pass" and (c.name == e or c.name.startswith(e + " ")) for c in checks))
    return Summary(total=len(checks), ran=sum(c.status != "skip" for c in checks),
                   skipped=sum(c.status == "skip" for c in checks), failed=sum(c.status == "fail" for c in checks),
                   unverified=unverified)


def format_checks(checks: Sequence[Check]) -> str:
    """One line per check; a failure's hint on the line below it."""
    marks = {"pass": "ok  ", "fail": "FAIL", "skip": "skip", "warn": "WARN"}
    lines = []
    for check in checks:
        lines.append(f"{marks[check.status]}  {check.name:<22} {check.detail}")
        if check.status in ("fail", "warn") and check.hint:
            lines.append(f"      {'':<22} hint: {check.hint}")
    lines.append(summarize(checks).line())
    return "\n".join(lines)
