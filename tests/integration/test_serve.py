"""`serve`: real HTTP on loopback → function URL events → the handler → real HTTP answers,
against the emulator over the real SDK."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_receipt_stats import links
from sms_receipt_stats.app import handle
from sms_receipt_stats.dashboard import CSP
from sms_receipt_stats.dev.emulator import window_stats
from sms_receipt_stats.dev.serve import FunctionUrlServer, function_url_event, to_http
from sms_receipt_stats.windows import named_window
from support import API_TOKEN, APP_PROD, read_event

pytestmark = pytest.mark.integration

LINK_SECRET = "serve-link-secret-0123456789"


def fetch(url: str, headers: Optional[Dict[str, str]] = None, data: Optional[bytes] = None,
          method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


@pytest.fixture()
def served(env: Dict[str, str]) -> Iterator[Tuple[FunctionUrlServer, List[Dict[str, Any]], List[str]]]:
    """`serve` in this process, handing events to `app.handle` with the emulator's environment."""
    events: List[Dict[str, Any]] = []
    lines: List[str] = []
    settings_env = {**env, "LINK_SECRET": LINK_SECRET}

    def handler(event: Dict[str, Any], context: Any) -> Any:
        events.append(event)
        return handle(event, context, env=settings_env)

    server = FunctionUrlServer(handler, log=lines.append).start()
    try:
        yield server, events, lines
    finally:
        server.stop()


def test_requests_become_function_url_events(served) -> None:
    server, events, _ = served
    status, _, _ = fetch(f"{server.endpoint}/dashboard?app_id={APP_PROD}&app_id={APP_PROD}&window=last_7d",
                         {"Authorization": f"Bearer {API_TOKEN}", "X-Custom": "1"})
    assert status == 200
    [event] = events
    fixture = read_event("function_url_get_dashboard")
    assert set(event) == set(fixture)  # the shape of Tencent's function URL event, no API Gateway fields
    assert event["httpMethod"] == "GET" and event["path"] == "/dashboard"
    assert event["queryString"] == {"app_id": [APP_PROD, APP_PROD], "window": "last_7d"}
    assert event["headers"]["authorization"] == f"Bearer {API_TOKEN}" and event["headers"]["x-custom"] == "1"
    assert event["headers"]["x-scf-remote-addr"] == "127.0.0.1"
    assert event["body"] == ""


def test_health_and_a_stats_lookup_over_http(served) -> None:
    server, _, _ = served
    status, headers, body = fetch(f"{server.endpoint}/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    status, _, body = fetch(f"{server.endpoint}/stats", {"Authorization": f"Bearer {API_TOKEN}",
                                                         "Content-Type": "application/json"},
                            json.dumps({"app_id": APP_PROD, "window": "yesterday"}).encode(), "POST")
    assert status == 200
    result = json.loads(body)
    window = named_window("yesterday", datetime.now(timezone.utc), "Asia/Shanghai")
    assert result["stats"] == window_stats(APP_PROD, window.begin_str, window.end_str)


def test_the_dashboard_over_http_with_a_signed_link_and_its_headers(served) -> None:
    server, _, lines = served
    url = links.dashboard_link(server.endpoint, LINK_SECRET, app_ids=[APP_PROD], window="last_7d",
                               now=datetime.now(timezone.utc))
    status, headers, body = fetch(url)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "private, no-store"
    assert int(headers["Content-Length"]) == len(body)
    assert f'id="app-{APP_PROD}"'.encode() in body
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    assert lines == ["GET /dashboard 200 " + lines[0].split(" 200 ")[1]]  # method, path, status, time
    assert sig not in lines[0] and "?" not in lines[0]  # the query (a link's signature) is never logged


def test_errors_keep_their_status_and_headers(served) -> None:
    server, _, _ = served
    status, headers, body = fetch(f"{server.endpoint}/dashboard")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    # the dashboard answers people: an HTML page naming the code, with the page's security headers
    assert headers["Content-Type"] == "text/html; charset=utf-8" and headers["Content-Security-Policy"] == CSP
    assert b"<code>AuthFailure.Unauthorized</code>" in body
    status, headers, _ = fetch(f"{server.endpoint}/stats", method="DELETE")
    assert status == 405 and headers["Allow"] == "GET, HEAD, POST"
    status, _, body = fetch(f"{server.endpoint}/nowhere")
    assert status == 404 and json.loads(body)["error"]["code"] == "NotFound"


def test_to_http_reads_integration_responses() -> None:
    encoded = {"statusCode": 201, "headers": {"X-A": "b"}, "isBase64Encoded": True,
               "body": base64.b64encode(b"\x00bytes").decode()}
    assert to_http(encoded) == (201, {"X-A": "b"}, b"\x00bytes")
    assert to_http({"schema": "x"})[0:2] == (200, {"Content-Type": "application/json; charset=utf-8"})


def test_function_url_event_from_parts() -> None:
    event = function_url_event("post", "/release/stats?a=1&b=&a=2", {"Content-Type": "application/json"},
                               "{\"x\": \"é\"}".encode(), "10.0.0.1")
    assert event == {"httpMethod": "POST", "path": "/release/stats", "queryString": {"a": ["1", "2"], "b": ""},
                     "headers": {"content-type": "application/json", "x-scf-remote-addr": "10.0.0.1"},
                     "body": "{\"x\": \"é\"}"}


def test_serve_with_the_emulator_keeps_the_users_state_url_and_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --emulator` points SMS_ENDPOINT (and the credentials) at the emulator, and nothing else:
    the user's STATE_URL, apps and tokens stay (they are what the developer is trying out)."""
    import os
    import time as time_module

    from sms_receipt_stats.dev import cli
    from sms_receipt_stats.dev.emulator import SECRET_ID

    state_url = f"sqlite:///{tmp_path}/serve-state.db"
    user = {"STATE_URL": state_url, "STATE_PREFIX": "mine:", "SMS_SDK_APP_IDS": "1400000042=mine",
            "API_TOKENS": "my-own-token-0123456789", "SMS_ENDPOINT": "sms.tencentcloudapi.com",
            "TENCENTCLOUD_SECRETID": "AKIDmine", "TENCENTCLOUD_SECRETKEY": "my-real-key-never-sent"}
    seen: Dict[str, str] = {}

    def stop(_seconds: float) -> None:
        seen.update(os.environ)
        raise KeyboardInterrupt

    saved = dict(os.environ)
    try:
        os.environ.update(user)
        monkeypatch.setattr(time_module, "sleep", stop)
        assert cli.main(["serve", "--emulator", "--port", "0"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert seen["STATE_URL"] == state_url and seen["STATE_PREFIX"] == "mine:"
    assert seen["SMS_SDK_APP_IDS"] == "1400000042=mine" and seen["API_TOKENS"] == "my-own-token-0123456789"
    assert seen["SMS_ENDPOINT"].startswith("http://127.0.0.1:")  # the emulator, not the real API
    assert seen["TENCENTCLOUD_SECRETID"] == SECRET_ID and "my-real-key-never-sent" not in seen.values()
    assert seen["LINK_SECRET"]  # unset by the user: the demo's, so the printed links open
    out = capsys.readouterr().out
    assert "STATE_URL kept" in out and "mine" in out  # the links name the user's app


def test_serve_environment_fills_only_what_the_user_left_unset() -> None:
    from sms_receipt_stats.dev.cli import DEMO_APPS, DEMO_TOKEN, serve_environment

    env = serve_environment({"STATE_URL": "redis://127.0.0.1:6379/11", "API_TOKENS": " ", "REPORT_LANG": "zh",
                             "TENCENTCLOUD_SESSIONTOKEN": "tok"}, "http://127.0.0.1:9", "http://127.0.0.1:8000")
    assert env["STATE_URL"] == "redis://127.0.0.1:6379/11" and env["REPORT_LANG"] == "zh"
    assert env["API_TOKENS"] == DEMO_TOKEN and env["SMS_SDK_APP_IDS"] == DEMO_APPS
    assert env["SMS_ENDPOINT"] == "http://127.0.0.1:9" and "TENCENTCLOUD_SESSIONTOKEN" not in env
