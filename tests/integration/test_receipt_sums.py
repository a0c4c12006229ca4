"""`Store.sum_counters` and the reads built on it (`read_series`, `read_totals`), on both real back
ends (the machine's Redis and SQLite): the sums equal what summing every hour's counters gives
(the read before sums moved into the store), values that `count_once` never writes fail the read
(docs/state.md, *Receipts*), and a Redis that breaks mid-read makes it None, not a wrong page."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Sequence

import pytest

from resp_proxy import SHAPES, RespProxy
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.receipts import (
    ReceiptSeries,
    ReceiptTotals,
    bucket_hours,
    hour_key,
    read_series,
    read_totals,
)
from sms_receipt_stats.state.redis_store import SUM_CHUNK, RedisStore
from sms_receipt_stats.state.store import MAX_COUNTER, MAX_SUM, CountGroup, GuardedStore, Store
from sms_receipt_stats.windows import Window, buckets, named_window

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
APPS = ["1400000001", "1400000002", "1400000003"]
#: fields as `count_once` writes them, and some it never writes (read back, then skipped)
FIELDS = ["s:S", "s:F", "c:S:DELIVRD", "c:F:DB:0141", "c:F:MK:0005", "c:F:ZZ:<b>9</b>", "n:86", "n:852",
          "nf:86", "nf:1", "l:1m", "l:1h", "l:more", "s:X", "c:F:", "zz", "n:", "统计:86"]


@pytest.fixture()
def raw(state_env: Dict[str, str]) -> Iterator[Store]:
    s = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    try:
        yield s
    finally:
        s.close()


def fill(store: Store, rng: random.Random, hours: Sequence[int], apps: Sequence[str] = APPS) -> None:
    """Random counters in a random half of the hours of each app, through `count_once`."""
    groups = []
    for app in apps:
        for hour in rng.sample(list(hours), len(hours) // 2):
            items = [(f"{app}-{hour}-{i}", rng.sample(FIELDS, rng.randint(1, 6))) for i in range(rng.randint(1, 5))]
            groups.append(CountGroup(hour_key(app, hour), 600, items))
    for start in range(0, len(groups), 50):
        assert store.count_once("seen", 600, groups[start:start + 50]) > 0


def summed_each_hour(store: Store, app_ids: Sequence[str], spans: Sequence[Window]) -> Dict[str, ReceiptSeries]:
    """`read_series` as it was: every hour's counters read back, added bucket by bucket."""
    series: Dict[str, ReceiptSeries] = {}
    for app_id in app_ids:
        mine = ReceiptSeries(buckets=[ReceiptTotals() for _ in spans])
        for index, span in enumerate(spans):
            hours = list(bucket_hours(span))
            for counters in store.read_counters([hour_key(app_id, h) for h in hours]):
                mine.buckets[index].add(counters)
            mine.total.merge(mine.buckets[index])
        series[app_id] = mine
    return series


HOURS_30D = range(int(NOW.timestamp()) // 3600 - 30 * 24 - 2, int(NOW.timestamp()) // 3600 + 1)


@pytest.mark.parametrize("seed", [1, 2])
def test_sums_in_the_store_equal_the_sums_of_every_hour(raw: Store, seed: int) -> None:
    rng = random.Random(seed)
    fill(raw, rng, HOURS_30D)
    state = GuardedStore(store=raw)
    for tz, name, granularity in [("Asia/Shanghai", "last_30d", "day"), ("America/New_York", "last_30d", "day"),
                                  ("Asia/Kolkata", "last_7d", "day"), ("Asia/Shanghai", "last_7d", "hour"),
                                  ("Asia/Shanghai", "last_30d", "total")]:  # a 720-hour bucket: summed in pieces
        spans = buckets(named_window(name, NOW, tz), granularity)
        got = read_series(state, APPS, spans)
        assert got == summed_each_hour(raw, APPS, spans), (tz, name, granularity)
        assert got is not None and got[APPS[0]].total.total > 0
    hours = list(HOURS_30D)[-200:]
    totals = read_totals(state, APPS, hours)
    assert totals is not None
    for app in APPS:
        expected = ReceiptTotals()
        for counters in raw.read_counters([hour_key(app, h) for h in hours]):
            expected.add(counters)
        assert totals[app] == expected
    assert state.problem is None


def test_each_back_end_sums_like_the_fallback_on_odd_groups(raw: Store) -> None:
    rng = random.Random(3)
    fill(raw, rng, range(100, 400), apps=["a"])
    keys = [hour_key("a", h) for h in range(90, 410)]  # absent keys among them
    groups: List[List[str]] = [[], keys[:1], keys[5:SUM_CHUNK + 40], [], keys, keys[3:4] * 3, ["nothing"]]
    groups += [rng.sample(keys, rng.randint(0, 30)) for _ in range(40)]
    assert raw.sum_counters(groups) == Store.sum_counters(raw, groups)


def put(store: Store, key: str, counters: Dict[str, Any]) -> None:
    """Write a counters hash as something else than `count_once` might have (a bad write, tampering)."""
    full = store.prefix + key  # type: ignore[attr-defined]
    if isinstance(store, RedisStore):
        flat: List[Any] = [part for item in counters.items() for part in item]
        store._client.execute("HSET", full, *flat)
        store._client.execute("PEXPIRE", full, 600_000)
    else:
        store.count_once("seen", 600, [CountGroup(key, 600, [("put", ["s:S"])])])  # creates the tables
        db = store._db  # type: ignore[attr-defined]
        db.execute("DELETE FROM counters WHERE key = ?", (full,))
        db.executemany("INSERT INTO counters (key, field, value, expires) VALUES (?, ?, ?, 1e12)",
                       [(full, name, value) for name, value in counters.items()])


HOSTILE = {
    "text": "abc",
    "negative": -5,
    "fraction": 1.5,
    "too large": MAX_COUNTER,
    "empty": "",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_value_count_once_never_writes_fails_the_read(raw: Store, kind: str) -> None:
    value = HOSTILE[kind]
    put(raw, hour_key("a", 500), {"s:S": 3, "c:F:DB:0141": value})
    put(raw, hour_key("a", 501), {"s:S": 4})
    state = GuardedStore(store=raw)
    spans = [Window(datetime.fromtimestamp(500 * 3600, timezone.utc), datetime.fromtimestamp(502 * 3600, timezone.utc),
                    "Asia/Shanghai")]
    assert read_series(state, ["a"], spans) is None
    assert state.problem == "read: ProtocolError: unexpected reply to " + (
        "EVALSHA" if isinstance(raw, RedisStore) else "sum_counters")


def test_the_largest_counter_reads_and_a_sum_past_2_53_fails(raw: Store) -> None:
    largest = MAX_COUNTER - 1
    for hour in range(600, 610):
        put(raw, hour_key("a", hour), {"s:S": largest, "s:F": 1})
    state = GuardedStore(store=raw)
    assert state.sum_counters([[hour_key("a", 600)], [hour_key("a", h) for h in range(600, 609)]]) == [
        {"s:S": largest, "s:F": 1}, {"s:S": 9 * largest, "s:F": 9}]
    assert 10 * largest >= MAX_SUM
    assert state.sum_counters([[hour_key("a", h) for h in range(600, 610)]]) is None
    assert state.problem is not None and "ProtocolError" in state.problem


# -- a Redis that breaks mid-read -------------------------------------------------------------------

@pytest.fixture()
def proxy() -> Iterator[RespProxy]:
    with RespProxy() as p:
        yield p


def thirty_days(store: Store) -> List[Window]:
    fill(store, random.Random(4), HOURS_30D, apps=APPS[:1])
    return buckets(named_window("last_30d", NOW, "Asia/Shanghai"), "day")


@pytest.mark.parametrize("fault", ["kill", "stall", "drip", "*0", "+OK", "nil", ":1"])
@pytest.mark.parametrize("at", [0, 1, 2])  # the 720 hours are three script calls: each one broken in turn
def test_a_fault_at_any_script_call_of_a_read_makes_it_none(proxy: RespProxy, redis_prefix: str, fault: str,
                                                            at: int, monkeypatch: Any) -> None:
    import sms_receipt_stats.state.redis_store as redis_store

    monkeypatch.setattr(redis_store, "CALL_TIMEOUT", 0.2)  # a stall or a drip (0.3 s) costs 0.2 s, not 1 s
    monkeypatch.setattr(redis_store, "CONNECT_TIMEOUT", 0.1)
    monkeypatch.setattr(redis_store, "COMMAND_TIMEOUT", 0.1)
    store = RedisStore(proxy.url, redis_prefix)
    try:
        spans = thirty_days(store)
        proxy.reset()
        healthy = GuardedStore(store=store)
        assert read_series(healthy, APPS[:1], spans) is not None and healthy.problem is None
        assert proxy.names().count("EVALSHA") == -(-720 // SUM_CHUNK) == 3
        proxy.reset()
        kind = fault if fault in ("kill", "stall", "drip") else "wrong"
        proxy.inject(kind, at=at, count=1 if kind == "wrong" else None, delay=0.3, shape=SHAPES.get(fault, b""),
                     only="EVALSHA")
        state = GuardedStore(store=store, budget=2.0)
        assert read_series(state, APPS[:1], spans) is None
        assert proxy.faults_hit >= 1
        assert state.problem is not None and state.problem.startswith("read: ")
    finally:
        store.close()


def test_a_read_stops_at_the_runs_store_budget(redis_prefix: str, redis_url: str) -> None:
    store = RedisStore(redis_url, redis_prefix)
    try:
        spans = thirty_days(store)
        state = GuardedStore(store=store, budget=1.0)
        state.spent = 1.0  # the run's store time is gone
        assert read_series(state, APPS[:1], spans) is None
        assert state.problem == "read: TimeoutError: the store took over 1 s this run"
    finally:
        store.close()

