"""The one HTTP router (`http/`): the route table, the parameter parser, the error builder.

A route is one module that declares `ROUTES`; the table finds it (docs/http-api.md;
docs/http-api.md for the statuses and the error body). Every test goes through `app.handle`
unless it checks one piece of the router alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest

from sms_receipt_stats import http
from sms_receipt_stats.events import ApiGatewayEvent, TimerEvent, event_kind
from sms_receipt_stats.http import router
from sms_receipt_stats.http.errors import ApiError, error_body, upstream_error
from sms_receipt_stats.http.params import collect
from sms_receipt_stats.http.router import Route, discover
from support import API_TOKEN, ERROR_KEYS, JSON_CT, FakeFetcher, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
ROOT = Path(__file__).resolve().parents[2]

PING = '''
from sms_receipt_stats.events import http_response
from sms_receipt_stats.http.router import Route


def ping(request):
    return http_response(200, {"pong": request.event.path, "request_id": request.request_id})


ROUTES = (Route("ping", ("GET",), ping),)
'''


@pytest.fixture()
def fresh_table() -> Iterator[None]:
    router.reset()
    yield
    router.reset()


@pytest.fixture()
def extra_route_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_table: None) -> Iterator[Path]:
    """A second folder of route modules, searched after the package's own."""
    monkeypatch.setattr(http, "__path__", [*http.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("sms_receipt_stats.http.") and m.endswith("_extra")]:
        del sys.modules[name]


def event(path: str, method: str = "GET", token: Any = API_TOKEN) -> Dict[str, Any]:
    raw = read_event("apigw_get_stats")
    raw["path"], raw["httpMethod"] = path, method
    raw["headers"].pop("authorization", None)
    if token is not None:
        raw["headers"]["authorization"] = f"Bearer {token}"
    return raw


def body_of(response: Dict[str, Any]) -> Dict[str, Any]:
    assert response["headers"]["Content-Type"] == JSON_CT
    return json.loads(response["body"])


# -- the table -----------------------------------------------------------------------------------------------


def test_the_package_routes_are_found_without_a_list(fresh_table: None) -> None:
    paths = {(r.path, r.methods, r.auth) for r in router.table().routes}
    assert paths == {("health", ("GET", "HEAD"), "none"), ("stats", ("GET", "POST"), "token"),
                     ("dashboard", ("GET",), "own"), ("silences", ("GET", "POST"), "token"),
                     ("silences/{id}", ("DELETE",), "token"), ("receipts/{app_id}", ("POST",), "own")}


def test_a_new_route_is_one_module_and_nothing_else_changes(extra_route_dir: Path, invoke: Invoke,
                                                            fetcher: FakeFetcher) -> None:
    before = invoke(event("/release/ping"))
    assert before["statusCode"] == 404 and "ping" not in body_of(before)["error"]["message"]
    (extra_route_dir / "ping_extra.py").write_text(PING, encoding="utf-8")
    router.reset()
    raw = event("/release/ping")
    response = invoke(raw)
    assert response["statusCode"] == 200
    assert body_of(response) == {"pong": "/release/ping", "request_id": raw["requestContext"]["requestId"]}
    # the table's rules hold for it: its methods, the token (its default auth), the 404 that names it
    wrong = invoke(event("/release/ping", method="POST"))
    assert (wrong["statusCode"], wrong["headers"]["Allow"]) == (405, "GET, HEAD")  # HEAD: as GET, no body
    head = invoke(event("/release/ping", method="HEAD"))
    assert (head["statusCode"], head["body"]) == (200, "")
    assert (lambda r: (r["statusCode"], r["body"]))(invoke(event("/release/nope", method="HEAD"))) == (404, "")
    assert body_of(wrong)["error"]["code"] == "MethodNotAllowed"
    assert invoke(event("/release/ping", token=None))["statusCode"] == 401
    assert "GET .../ping" in body_of(invoke(event("/release/nope")))["error"]["message"]
    # and the other routes are as they were
    assert invoke(event("/release/health"))["statusCode"] == 200
    assert invoke(event("/release/stats", method="DELETE"))["headers"]["Allow"] == "GET, HEAD, POST"
    assert fetcher.calls == []


def test_a_route_declared_twice_is_refused_naming_both(extra_route_dir: Path) -> None:
    (extra_route_dir / "stats_extra.py").write_text(PING.replace('"ping"', '"stats"'), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"stats.* and .*stats_extra"):
        discover()


def test_a_route_that_contradicts_itself_fails_naming_its_module(extra_route_dir: Path) -> None:
    (extra_route_dir / "bad_extra.py").write_text(PING.replace('("GET",)', '("get",)'), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"bad_extra.*upper-case"):
        discover()


@pytest.mark.parametrize("path, route, values", [
    ("/release/stats", "stats", {}),
    ("stats", "stats", {}),
    ("/a/b/c/stats/", "stats", {}),
    ("/release/silences", "silences", {}),
    ("/release/silences/abc", "silences/{id}", {"id": "abc"}),
    ("/release/silences/stats", "stats", {}),  # a literal segment beats a placeholder
    ("/silences/health", "health", {}),
])
def test_paths_match_by_their_last_segments(fresh_table: None, path: str, route: str,
                                            values: Dict[str, str]) -> None:
    found, got = router.table().find(path)
    assert (found.path, got) == (route, values)


@pytest.mark.parametrize("path", ["/release/silences/a/b", "/release/statsx", "/release/", "", "/xstats"])
def test_other_paths_are_404(fresh_table: None, path: str) -> None:
    with pytest.raises(ApiError) as caught:
        router.table().find(path)
    assert (caught.value.status, caught.value.code) == (404, "NotFound")


def test_matching_needs_whole_segments() -> None:
    route = Route("silences/{id}", ("DELETE",), lambda request: {})
    assert route.match(["", "release", "silences", "x"]) == {"id": "x"}
    assert route.match(["", "silences", ""]) is None
    assert route.match(["x"]) is None


# -- the error builder ---------------------------------------------------------------------------------------


def test_the_silences_errors_carry_the_requests_id(invoke: Invoke) -> None:
    """They were built apart and said `request_id: null`; now every error body has the request's id."""
    raw = read_event("apigw_get_silences")
    response = invoke(raw, env=base_env(STATE_URL=None))
    error = body_of(response)["error"]
    assert (response["statusCode"], error["code"]) == (503, "UnsupportedOperation.StateNotConfigured")
    assert set(error) == ERROR_KEYS
    assert error["request_id"] == raw["requestContext"]["requestId"]
    assert (error["severity"], error["category"], error["retryable"]) == ("warning", "input", False)
    assert "STATE_URL" in error["hint"]


def test_a_local_refusal_is_never_retryable_and_a_route_may_say_better() -> None:
    plain = error_body(ApiError(404, "NotFound", "no such route"), "req-1")
    assert (plain["category"], plain["retryable"], plain["request_id"]) == ("input", False, "req-1")
    said = error_body(ApiError(503, "ResourceUnavailable.StateStore", "down", category="transient",
                               retryable=True, hint="Check STATE_URL.", severity="warning"), None)
    assert (said["category"], said["retryable"], said["hint"], said["severity"]) == (
        "transient", True, "Check STATE_URL.", "warning")


def test_retry_after_only_on_429_and_503() -> None:
    from sms_receipt_stats.catalogue import error_info

    limited = upstream_error(error_info("RequestLimitExceeded", "slow down", "up-1"))
    transient = upstream_error(error_info("InternalError.Timeout", "timeout", "up-2"))
    refused = upstream_error(error_info("AuthFailure.SignatureFailure", "bad signature", "up-3"))
    assert limited.status == 429 and "Retry-After" in limited.headers
    assert transient.status == 503 and "Retry-After" in transient.headers
    assert refused.status == 502 and refused.headers == {}
    # a relayed body keeps the upstream's request id; one without gets the request's
    assert error_body(limited, "req-9")["request_id"] == "up-1"
    blank = upstream_error(error_info("RequestLimitExceeded", "slow down", None))
    assert error_body(blank, "req-9")["request_id"] == "req-9"


# -- the parameter parser ------------------------------------------------------------------------------------


def _event(query: Dict[str, Any], body: Any = None) -> ApiGatewayEvent:
    raw = {"httpMethod": "POST", "path": "/stats", "queryString": query,
           "body": None if body is None else json.dumps(body)}
    parsed = ApiGatewayEvent.parse(raw)
    assert parsed is not None
    return parsed


def test_aliases_merge_query_and_body_and_conflicts_are_refused() -> None:
    aliases = {"app_id": ("app_id", "SmsSdkAppId"), "window": ("window",)}
    got = collect(_event({"SmsSdkAppId": "1400006874"}, {"app_id": "1400006874", "window": "today"}), aliases,
                  body=True)
    assert got == {"app_id": "1400006874", "window": "today"}
    with pytest.raises(ApiError, match="app_id: conflicting values"):
        collect(_event({"SmsSdkAppId": "1400006874"}, {"app_id": "1400000002"}), aliases, body=True)
    # without `body` the body is not read (a GET route's)
    assert collect(_event({}, {"window": "today"}), aliases)["window"] is None


def test_a_value_over_the_routes_limit_is_refused_naming_it() -> None:
    with pytest.raises(ApiError, match="window: too long"):
        collect(_event({"window": "x" * 65}), {"window": ("window",)})
    assert collect(_event({"window": "x" * 65}), {"window": ("window",)}, max_chars=100)["window"] == "x" * 65


# -- events --------------------------------------------------------------------------------------------------


def test_the_timer_event_model_reads_odd_fields_as_absent() -> None:
    raw = {"Type": "Timer", "TriggerName": 7, "Time": ["2026"], "Message": {"job": "check"}, "Extra": 1}
    assert event_kind(raw) == "timer"
    parsed = TimerEvent.parse(raw)
    assert (parsed.TriggerName, parsed.Time, parsed.Message) == (None, None, {"job": "check"})
    fixture = TimerEvent.parse(read_event("timer_default"))
    assert fixture.Type == "Timer" and isinstance(fixture.TriggerName, str)


def test_an_http_shaped_event_is_http_even_when_malformed(invoke: Invoke) -> None:
    raw = {"httpMethod": 5, "path": "/stats"}
    assert event_kind(raw) == "apigw" and ApiGatewayEvent.parse(raw) is None
    response = invoke(raw)
    assert response["statusCode"] == 400 and body_of(response)["error"]["code"] == "InvalidParameter"


# -- cold start ----------------------------------------------------------------------------------------------


def test_a_health_probe_loads_no_job_query_sdk_or_state() -> None:
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import handler\n"
        "answer = handler.main_handler({'httpMethod': 'GET', 'path': '/release/health', 'headers': {},"
        " 'requestContext': {}}, {})\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('sms_receipt_stats'))\n"
        "print(json.dumps({'status': answer['statusCode'], 'loaded': loaded}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == 200
    # the state package's own `__init__` is its variables' declaration (read with the configuration);
    # none of its modules (store, back ends, lifecycle) loads
    heavy = [m for m in got["loaded"] if [*m.split("."), ""][1] in (
        "jobs", "query", "sdk", "results", "state", "dashboard", "render", "catalogue")
        and m != "sms_receipt_stats.state"]
    assert heavy == [], heavy
    assert "sms_receipt_stats.http.router" in got["loaded"]
