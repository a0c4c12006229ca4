"""`Store.count_once` and `Store.read_counters` on both real back ends: the machine's Redis and SQLite."""

from __future__ import annotations

import threading
import time
from typing import Dict, Iterator, List

import pytest

from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.store import CountGroup, Store


@pytest.fixture()
def store(state_env: Dict[str, str]) -> Iterator[Store]:
    s = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    try:
        yield s
    finally:
        s.close()


def group(key: str, *members: str, fields: tuple = ("a", "b"), ttl: float = 60) -> CountGroup:
    return CountGroup(key, ttl, [(m, fields) for m in members])


def test_new_members_are_counted_and_seen_ones_add_nothing(store: Store) -> None:
    assert store.count_once("seen", 60, [group("h1", "x", "y"), group("h2", "z", fields=("c",))]) == 3
    assert store.count_once("seen", 60, [group("h1", "x", "w"), group("h2", "y", "y", fields=("c",))]) == 1
    assert store.read_counters(["h1", "h2", "absent"]) == [{"a": 3, "b": 3}, {"c": 1}, {}]


def test_a_member_is_counted_again_once_the_window_has_passed(store: Store) -> None:
    assert store.count_once("seen", 0.3, [group("h", "x")]) == 1
    assert store.count_once("seen", 0.3, [group("h", "x")]) == 0
    time.sleep(0.5)
    assert store.count_once("seen", 0.3, [group("h", "x")]) == 1
    assert store.read_counters(["h"]) == [{"a": 2, "b": 2}]


def test_counters_expire_after_their_ttl_and_a_longer_one_is_kept(store: Store) -> None:
    store.count_once("seen", 60, [group("short", "x", ttl=0.3), group("long", "y", ttl=60)])
    store.count_once("seen", 60, [group("long", "z", ttl=0.3)])  # a shorter ttl never shortens the key
    time.sleep(0.5)
    assert store.read_counters(["short", "long"]) == [{}, {"a": 2, "b": 2}]


def test_many_keys_are_read_in_order(store: Store) -> None:
    keys = [f"h{i}" for i in range(130)]  # more than one script call on Redis
    store.count_once("seen", 60, [group(k, f"m{i}", fields=(f"f{i}",)) for i, k in enumerate(keys)])
    assert store.read_counters(keys) == [{f"f{i}": 1} for i in range(130)]


def test_concurrent_batches_with_shared_members_count_each_member_once(state_env: Dict[str, str]) -> None:
    stores = [open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"]) for _ in range(6)]
    counted: List[int] = []
    lock = threading.Lock()

    def run(s: Store, offset: int) -> None:
        for start in range(0, 200, 20):  # members overlap with the next thread's
            members = [f"m{(offset * 30 + start + i) % 400}" for i in range(20)]
            for attempt in range(20):
                try:
                    n = s.count_once("seen", 60, [group("h", *members, fields=("total",))])
                    break
                except Exception:  # SQLite's lock wait is bounded: a writer waits its turn again
                    time.sleep(0.01 * (attempt + 1))
            else:
                raise AssertionError("never counted")
            with lock:
                counted.append(n)

    threads = [threading.Thread(target=run, args=(s, i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    distinct = len({f"m{(i * 30 + j) % 400}" for i in range(6) for j in range(200)})
    assert sum(counted) == distinct
    assert stores[0].read_counters(["h"]) == [{"total": distinct}]
    for s in stores:
        s.close()


def test_a_linked_group_counts_only_members_new_in_this_call_and_each_once(store: Store) -> None:
    assert store.count_once("seen", 60, [group("h", "x")]) == 1
    linked = CountGroup("m", 60, [("x", ("s",)), ("y", ("s",)), ("y", ("s",)), ("z", ("s",))], linked=True)
    # x was seen before: nothing; y is new (twice in the batch: once); z is in no earlier group
    assert store.count_once("seen", 60, [group("h", "x", "y"), linked]) == 1
    assert store.read_counters(["h", "m"]) == [{"a": 2, "b": 2}, {"s": 1}]
    # a linked group leaves no trace in the seen set: z is still new for an unlinked group
    assert store.count_once("seen", 60, [group("h", "z")]) == 1


def test_a_batch_of_nothing_new_creates_no_linked_counters(store: Store) -> None:
    store.count_once("seen", 60, [group("h", "x")])
    store.count_once("seen", 60, [group("h", "x"), CountGroup("m", 60, [("x", ("s",))], linked=True)])
    assert store.read_counters(["m"]) == [{}]
