"""Receipts pushed by Tencent to `POST .../receipts/{app_id}?token=...`, through the handler, into a real store.

Each refusal must be a clear 4xx in Tencent's own shape (`{"result": <non-zero>, "errmsg"}`) with
nothing of the batch stored, and neither the token, the secret nor a phone number in the answer or
the log. Accepted batches are counted once per sid, per hour of user_receive_time, on SQLite and on
the machine's Redis alike.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.receipts.credential import receipts_token
from sms_receipt_stats.receipts.intake import MAX_RECORDS
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.receipts import hour_key
from support import (
    APP_NOT_ALLOWED,
    APP_PROD,
    APP_STAGING,
    NOW,
    base_env,
    fake_deps,
    log_lines,
    read_event,
    redis_client,
)

#: the secret the fixture event's token (tests/events/url_post_receipts.json) is derived from
SECRET = "fixture-receipts-Kq7vT2xW9mB4"
#: the phone numbers of the fixture event: never in an answer or a log line
PHONES = ("13800138000", "13900139000", "51234567")
#: the fixture's receipts fall in the Beijing hour 2026-11-25 08 (NOW is 09:00 Beijing)
FIXTURE_HOUR = int(datetime(2026, 11, 25, 0, tzinfo=timezone.utc).timestamp()) // 3600
BEIJING = timezone(timedelta(hours=8))

Post = Callable[..., Dict[str, Any]]


def record(i: int = 0, *, when: Optional[datetime] = None, status: str = "FAIL", code: str = "MK:0005",
           nation: str = "86", **extra: Any) -> Dict[str, Any]:
    at = (when or NOW - timedelta(minutes=5)).astimezone(BEIJING)
    item = {"user_receive_time": at.strftime("%Y-%m-%d %H:%M:%S"), "nationcode": nation,
            "mobile": f"139{i:08d}", "report_status": status, "errmsg": code,
            "description": "用户短信接收失败", "sid": f"sid-{i:06d}"}
    item.update(extra)
    return item


@pytest.fixture()
def receipts_env(state_env: Dict[str, str]) -> Dict[str, str]:
    return base_env(RECEIPTS_SECRET=SECRET, **state_env)


@pytest.fixture()
def post(receipts_env: Dict[str, str], capsys: Any) -> Post:
    """`post(body=..., app_id=..., token=..., method=..., env=...)` → (status, answer, log records)."""

    def run(body: Any = None, *, app_id: str = APP_PROD, token: Optional[str] = "derive", method: str = "POST",
            env: Optional[Dict[str, str]] = None, raw: Optional[str] = None, base64_body: bool = False) -> Any:
        event = read_event("url_post_receipts")
        event["httpMethod"] = method
        event["path"] = f"/receipts/{app_id}"
        if token == "derive":
            token = receipts_token(SECRET, app_id)
        event["queryString"] = {} if token is None else {"token": token}
        if raw is not None or body is not None:
            event["body"] = raw if raw is not None else json.dumps(body, ensure_ascii=False)
        if base64_body:
            event["body"] = base64.b64encode(event["body"].encode("utf-8")).decode("ascii")
            event["isBase64Encoded"] = True
        capsys.readouterr()
        answer = handle(event, {"request_id": "receipts-test"}, env=env or receipts_env, deps=fake_deps())
        logs = capsys.readouterr().out
        return answer, logs

    return run


def counters(env: Dict[str, str], app_id: str = APP_PROD, hour: int = FIXTURE_HOUR) -> Dict[str, int]:
    store = open_store(env["STATE_URL"], env["STATE_PREFIX"])
    try:
        return store.read_counters([hour_key(app_id, hour)])[0]
    finally:
        store.close()


def stored_anything(env: Dict[str, str]) -> bool:
    """Whether the store holds anything at all under the test's prefix (receipts, seen sids, other keys)."""
    url, prefix = env["STATE_URL"], env["STATE_PREFIX"]
    if url.startswith("redis"):
        client = redis_client()
        try:
            return bool(list(client.scan_iter(match=f"{prefix}*", count=1000)))
        finally:
            client.close()
    import sqlite3

    from sms_receipt_stats.state.sqlite_store import sqlite_path

    db = sqlite3.connect(sqlite_path(url))
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return any(db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in tables)
    finally:
        db.close()


def check_refusal(answer: Dict[str, Any], logs: str, status: int, *, words: str = "") -> Dict[str, Any]:
    assert answer["statusCode"] == status, answer
    body = json.loads(answer["body"])
    assert set(body) == {"result", "errmsg"} and body["result"] == status != 0, body
    assert words.lower() in body["errmsg"].lower(), body
    text = answer["body"] + json.dumps(answer["headers"]) + logs
    for secret in (SECRET, receipts_token(SECRET, APP_PROD), *PHONES, "13900000000", "13900000001"):
        assert secret not in text
    log_lines(logs)  # every log line is one JSON record
    return body


# -- accepted ------------------------------------------------------------------------------------

def test_the_fixture_push_is_answered_ok_and_counted_by_status_code_and_country(post: Post,
                                                                                receipts_env: Dict[str, str]) -> None:
    answer, logs = post()
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"result": 0, "errmsg": "OK"}
    got = counters(receipts_env)
    assert got["s:S"] == 1 and got["s:F"] == 2
    assert got["c:S:DELIVRD"] == 1 and got["c:F:MK:0005"] == 1 and got["c:F:UNDELIV"] == 1
    assert got["n:86"] == 2 and got["nf:86"] == 1 and got["n:852"] == 1 and got["nf:852"] == 1
    assert sum(v for k, v in got.items() if k.startswith("l:")) == 3  # each receipt's lateness, once
    assert not [p for p in PHONES if p in logs or p in json.dumps(got)]


def test_the_same_batch_pushed_again_counts_once(post: Post, receipts_env: Dict[str, str]) -> None:
    first, _ = post()
    again, logs = post()
    assert first["statusCode"] == again["statusCode"] == 200  # a duplicate is a success: Tencent must stop
    assert counters(receipts_env)["s:F"] == 2
    assert "3 already seen" in logs


def test_a_batch_of_new_and_already_seen_receipts_counts_only_the_new(post: Post,
                                                                      receipts_env: Dict[str, str]) -> None:
    post([record(1), record(2)])
    post([record(2), record(3), record(3)])  # one seen before, one new given twice in the same batch
    assert counters(receipts_env, hour=int((NOW - timedelta(minutes=5)).timestamp()) // 3600)["c:F:MK:0005"] == 3


def test_a_receipt_counts_in_the_hour_of_its_user_receive_time(post: Post, receipts_env: Dict[str, str]) -> None:
    late = NOW - timedelta(days=3, hours=5)  # carriers report days later: its own hour, not the arrival's
    answer, _ = post([record(1, when=late), record(2)])
    assert answer["statusCode"] == 200
    assert counters(receipts_env, hour=int(late.timestamp()) // 3600)["s:F"] == 1
    assert counters(receipts_env, hour=int((NOW - timedelta(minutes=5)).timestamp()) // 3600)["s:F"] == 1
    assert counters(receipts_env, hour=int(late.timestamp()) // 3600)["l:more"] == 1


def test_a_base64_body_and_extra_fields_are_accepted(post: Post, receipts_env: Dict[str, str]) -> None:
    answer, _ = post([record(7, ext="a field Tencent may add one day")], base64_body=True)
    assert answer["statusCode"] == 200


def test_a_body_with_a_byte_order_mark_is_accepted(post: Post, receipts_env: Dict[str, str]) -> None:
    answer, _ = post(raw="\ufeff" + json.dumps([record(8)]))
    assert answer["statusCode"] == 200


# -- refused: nothing stored, Tencent's shape ----------------------------------------------------

BAD_BODIES: List[Any] = [
    pytest.param({"raw": "not json at all"}, 400, "not valid JSON", id="non-JSON"),
    pytest.param({"raw": ""}, 400, "empty", id="empty body"),
    pytest.param({"body": {"user_receive_time": "2026-11-25 08:03:04"}}, 400, "array", id="object not array"),
    pytest.param({"body": []}, 400, "empty array", id="empty array"),
    pytest.param({"body": "[]"}, 400, "array", id="a JSON string"),
    pytest.param({"raw": "[" * 100 + "]" * 100}, 400, "nested", id="nested without end"),
    pytest.param({"body": [{k: v for k, v in record(0).items() if k != "sid"}]}, 400, "record 0: sid", id="no sid"),
    pytest.param({"body": [record(0), {k: v for k, v in record(1).items() if k != "mobile"}]}, 400,
                 "record 1: mobile", id="no mobile in the second record"),
    pytest.param({"body": [record(0, nationcode=86)]}, 400, "nationcode", id="number for a string"),
    pytest.param({"body": [record(0, sid=None)]}, 400, "sid", id="null sid"),
    pytest.param({"body": [record(0, report_status="DELIVERED")]}, 400, "report_status", id="unknown report_status"),
    pytest.param({"body": [record(0, report_status="success")]}, 400, "report_status", id="lower-case status"),
    pytest.param({"body": [record(0, user_receive_time="2026-11-25T08:03:04Z")]}, 400, "user_receive_time",
                 id="ISO time"),
    pytest.param({"body": [record(0, user_receive_time="2026-02-30 08:03:04")]}, 400, "no such date",
                 id="no such date"),
    pytest.param({"body": [record(0, when=NOW + timedelta(days=2))]}, 400, "future", id="far future"),
    pytest.param({"body": [record(0, when=NOW - timedelta(days=400))]}, 400, "older than", id="far past"),
    pytest.param({"body": [record(0, description="ok\x00\x1b[31m")]}, 400, "description", id="control characters"),
    pytest.param({"body": [record(0, errmsg="MK:0005\n")]}, 400, "errmsg", id="newline in the code"),
    pytest.param({"body": [record(0, errmsg="X" * 200)]}, 400, "errmsg", id="code too long"),
    pytest.param({"body": [record(0, sid="")]}, 400, "sid", id="empty sid"),
    pytest.param({"body": [record(0, errmsg="   ")]}, 400, "errmsg", id="blank code"),
    pytest.param({"body": [record(0, mobile="139\u2028000")]}, 400, "mobile", id="line separator in a number"),
    pytest.param({"body": [record(0, mobile=13900000000)]}, 400, "mobile", id="number as a number"),
    pytest.param({"body": [record(i) for i in range(MAX_RECORDS + 1)]}, 413, "records", id="too many records"),
    pytest.param({"body": [record(i) for i in range(10_000)]}, 413, "exceeds", id="10,000 records"),
    pytest.param({"raw": "[" + " " * (10 * 1024 * 1024) + "]"}, 413, "exceeds", id="10 MB body"),
]


@pytest.mark.parametrize(("given", "status", "words"), BAD_BODIES)
def test_a_bad_body_is_refused_whole_and_nothing_is_stored(post: Post, receipts_env: Dict[str, str], given: Any,
                                                           status: int, words: str) -> None:
    answer, logs = post(**given)
    check_refusal(answer, logs, status, words=words)
    assert not stored_anything(receipts_env)


def test_one_bad_record_among_good_ones_stores_none_of_them(post: Post, receipts_env: Dict[str, str]) -> None:
    answer, logs = post([record(1), record(2), record(3, report_status="MAYBE")])
    check_refusal(answer, logs, 400, words="record 2: report_status")
    assert not stored_anything(receipts_env)


@pytest.mark.parametrize("token", [None, "", "wrong", receipts_token(SECRET, APP_STAGING),
                                   receipts_token("another-secret-of-16+", APP_PROD), "x" * 5000])
def test_a_wrong_or_missing_token_is_401(post: Post, receipts_env: Dict[str, str], token: Optional[str]) -> None:
    answer, logs = post(token=token)
    check_refusal(answer, logs, 401, words="token")
    assert not stored_anything(receipts_env)


def test_an_app_not_configured_is_403_even_with_its_own_token(post: Post, receipts_env: Dict[str, str]) -> None:
    answer, logs = post(app_id=APP_NOT_ALLOWED)
    check_refusal(answer, logs, 403, words="SMS_SDK_APP_IDS")
    assert not stored_anything(receipts_env)


def test_an_app_not_configured_without_its_token_is_401_first(post: Post) -> None:
    answer, logs = post(app_id=APP_NOT_ALLOWED, token="guess")
    check_refusal(answer, logs, 401)  # an unauthenticated caller learns nothing about which apps exist


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_method_is_405_in_tencents_shape(post: Post, receipts_env: Dict[str, str], method: str) -> None:
    answer, logs = post(method=method)
    check_refusal(answer, logs, 405)
    assert answer["headers"]["Allow"] == "POST"
    assert not stored_anything(receipts_env)


def test_without_a_receipts_secret_the_route_is_404_and_stores_nothing(post: Post,
                                                                        receipts_env: Dict[str, str]) -> None:
    env = dict(receipts_env)
    del env["RECEIPTS_SECRET"]
    answer, logs = post(env=env)
    check_refusal(answer, logs, 404)
    assert not stored_anything(receipts_env)


def test_a_short_receipts_secret_is_a_config_issue_and_the_route_stays_off(post: Post,
                                                                           receipts_env: Dict[str, str]) -> None:
    from sms_receipt_stats.config import load_settings

    env = dict(receipts_env, RECEIPTS_SECRET="Zq9-tiny")
    settings, issues = load_settings(env)
    assert settings.receipts_secret is None
    assert [i.variable for i in issues] == ["RECEIPTS_SECRET"] and "Zq9-tiny" not in str(issues[0])
    answer, logs = post(env=env, token=receipts_token("Zq9-tiny", APP_PROD))
    check_refusal(answer, logs, 404)


def test_without_a_state_store_the_push_is_503_so_tencent_retries(post: Post, receipts_env: Dict[str, str]) -> None:
    env = {k: v for k, v in receipts_env.items() if k not in ("STATE_URL", "STATE_PREFIX")}
    answer, logs = post(env=env)
    check_refusal(answer, logs, 503, words="STATE_URL")
    assert answer["headers"]["Retry-After"]


def test_a_store_that_does_not_answer_is_503_and_the_retry_counts(post: Post, receipts_env: Dict[str, str]) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = dict(receipts_env, STATE_URL=f"redis://127.0.0.1:{port}/0")
    answer, logs = post(env=down)
    check_refusal(answer, logs, 503, words="state store")
    retried, _ = post()
    assert retried["statusCode"] == 200
    assert counters(receipts_env)["s:F"] == 2
