"""`GET .../stats` with a state store: the app result carries `receipt_codes` and `countries` of the
pushed receipts in its window (docs/http-api.md, *Receipts*), on SQLite and the machine's Redis; a
store that fails leaves them out, logs a warning, and the lookup still answers 200."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List

import pytest

from resp_proxy import RespProxy
from sms_receipt_stats.app import handle
from sms_receipt_stats.receipts import codes
from sms_receipt_stats.receipts.intake import Receipt
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.receipts import count_batch
from sms_receipt_stats.state.store import GuardedStore
from support import APP_PROD, NOW, base_env, fake_deps, log_lines, read_event

SECRET = "lookup-receipts-Hq2vT8xW4mB7"
#: 10:00 Beijing on `yesterday` of NOW (2026-11-25 09:00 Beijing): inside the lookup's window
INSIDE = int(datetime(2026, 11, 24, 10, tzinfo=timezone(timedelta(hours=8))).timestamp()) // 3600
RECEIPTS = (
    [Receipt(INSIDE, "FAIL", "DB:0141", "86", f"a{i}", "1h") for i in range(4)]
    + [Receipt(INSIDE, "FAIL", "ZZ:0042", "852", "b0", "1h"), Receipt(INSIDE, "SUCCESS", "DELIVRD", "86", "c0", "1m")]
    + [Receipt(INSIDE + 24, "FAIL", "UNDELIV", "86", "d0", "1m")]  # today: outside `yesterday`
)


def push(env: Dict[str, str], receipts: List[Receipt]) -> None:
    state = GuardedStore(store=open_store(env["STATE_URL"], env["STATE_PREFIX"]))
    try:
        assert count_batch(state, APP_PROD, receipts, NOW.timestamp()) == len(receipts)
    finally:
        state.close()


def lookup(env: Dict[str, str], capsys: Any, lang: str = "en") -> Any:
    event = read_event("url_get_stats")
    capsys.readouterr()
    answer = handle(event, {"request_id": "lookup-receipts", "time_limit_in_ms": 20000},
                    env={**env, "REPORT_LANG": lang}, deps=fake_deps())
    logs = capsys.readouterr().out
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"]), logs


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_lookup_returns_the_failed_codes_and_countries_of_its_window(state_env: Dict[str, str], capsys: Any,
                                                                       lang: str) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, **state_env)
    push(env, RECEIPTS)
    body, _ = lookup(env, capsys, lang)
    assert body["app_id"] == APP_PROD and body["stats"] is not None
    assert body["receipt_codes"] == [
        {"code": "DB:0141", "count": 4, "category": "blacklist", "meaning": codes.lookup("DB:0141").meaning_in(lang)},
        {"code": "ZZ:0042", "count": 1, "category": "unknown", "meaning": None},
    ]
    assert body["countries"] == [{"nationcode": "86", "count": 5, "failed": 4},
                                 {"nationcode": "852", "count": 1, "failed": 1}]


def test_a_lookup_with_a_store_and_no_receipt_is_empty_lists(state_env: Dict[str, str], capsys: Any) -> None:
    body, _ = lookup(base_env(RECEIPTS_SECRET=SECRET, **state_env), capsys)
    assert body["receipt_codes"] == [] and body["countries"] == []


def test_without_a_store_or_the_callback_the_lookup_keeps_its_shape(state_env: Dict[str, str], capsys: Any) -> None:
    for env in (base_env(RECEIPTS_SECRET=SECRET), base_env(**state_env)):
        body, _ = lookup(env, capsys)
        assert "receipt_codes" not in body and "countries" not in body and body["stats"] is not None


@pytest.fixture()
def proxy() -> Iterator[RespProxy]:
    with RespProxy() as server:
        yield server


def test_a_store_failing_on_the_counters_leaves_them_out_and_says_so(proxy: RespProxy, redis_prefix: str,
                                                                     capsys: Any) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, STATE_URL=proxy.url, STATE_PREFIX=redis_prefix)
    push(env, RECEIPTS)
    proxy.reset()
    proxy.inject("kill", only="EVALSHA")  # the counters' read is one script call: its connection drops
    body, logs = lookup(env, capsys)
    assert proxy.faults_hit == 1, proxy.names()
    assert body["stats"] is not None and "receipt_codes" not in body and "countries" not in body
    warnings = [r for r in log_lines(logs) if "without receipt codes" in r.get("message", "")]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning", logs
    assert SECRET not in logs
