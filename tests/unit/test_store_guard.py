"""`GuardedStore`: one failure path for every store operation, a time budget per run, reads ahead.

A dict-backed `Store` whose calls advance an injected clock: no sleeping, no server.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

import pytest

from sms_receipt_stats.state.store import (
    CALL_TIMEOUT,
    DEFAULT_BUDGET,
    MAX_BUDGET,
    MIN_BUDGET,
    GuardedStore,
    Store,
    budget_for,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowDict(Store):
    """Every call takes `cost` seconds of the clock; `during` runs inside a call (a nested one)."""

    def __init__(self, clock: Clock, cost: float = 0.1):
        self.clock, self.cost = clock, cost
        self.data: Dict[str, str] = {}
        self.calls: List[str] = []
        self.bounds: List[float] = []
        self.during: Optional[Callable[[], None]] = None
        self.short: Optional[List[Optional[str]]] = None

    def _tick(self, name: str) -> None:
        self.calls.append(name)
        self.clock.now += self.cost / 2
        if self.during is not None:
            during, self.during = self.during, None
            during()
        self.clock.now += self.cost / 2

    def get(self, key: str) -> Optional[str]:
        self._tick("get")
        return self.data.get(key)

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        self._tick("get_many")
        return self.short if self.short is not None else [self.data.get(k) for k in keys]

    def set(self, key: str, value: str, ttl: float) -> None:
        self._tick("set")
        self.data[key] = value

    def claim(self, key: str, value: str, ttl: float) -> bool:
        self._tick("claim")
        return self.data.setdefault(key, value) == value

    def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        self._tick("swap")
        return False

    def delete(self, key: str) -> None:
        self._tick("delete")
        self.data.pop(key, None)

    def items(self, collection: str) -> Dict[str, str]:
        self._tick("items")
        return {}

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        self._tick("get_item")
        return None

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> bool:
        self._tick("replace")
        return True

    def ping(self) -> None:
        self._tick("ping")

    def bound(self, seconds: float) -> None:
        self.bounds.append(round(seconds, 6))

    def close(self) -> None:
        return None


def guarded(cost: float = 0.1, budget: Optional[float] = 1.0) -> Any:
    clock = Clock()
    backend = SlowDict(clock, cost)
    return GuardedStore(backend, budget=budget, clock=clock), backend, clock


def test_the_budget_is_a_share_of_the_time_limit_within_bounds() -> None:
    assert budget_for(None) == DEFAULT_BUDGET
    assert budget_for(60) == 6.0  # serverless.yml's limit
    assert budget_for(900) == MAX_BUDGET and budget_for(1) == MIN_BUDGET and budget_for(0) == DEFAULT_BUDGET


def test_past_its_budget_the_store_is_unavailable_and_says_why() -> None:
    state, backend, _ = guarded(cost=0.125, budget=1.0)
    answers = [state.set(f"k{i}", "v", 10) for i in range(12)]
    assert answers == [True] * 8 + [False] * 4 and len(backend.calls) == 8
    assert state.problem == "set: TimeoutError: the store took over 1 s this run"
    assert state.get("k1") is None and len(backend.calls) == 8  # stateless from here on: no more calls


def test_the_last_call_is_bounded_by_what_is_left_of_the_budget() -> None:
    state, backend, _ = guarded(cost=0.25, budget=1.0)
    for _ in range(5):
        state.ping()
    assert CALL_TIMEOUT == 1.0 and backend.bounds == [0.75, 0.5, 0.25]  # once less than a call's time is left
    assert len(backend.calls) == 4 and not state.available


def test_concurrent_calls_count_their_overlap_once() -> None:
    state, backend, _ = guarded(cost=0.2, budget=10.0)
    backend.during = lambda: state.get("inner")  # a call in flight while another runs
    state.get("outer")
    assert backend.calls == ["get", "get"]
    assert state.used() == pytest.approx(0.4)  # 0.4 s of wall clock, though the two calls took 0.6 s


def test_without_a_budget_only_each_call_is_bounded() -> None:
    state, backend, _ = guarded(cost=0.5, budget=None)
    for _ in range(50):
        state.ping()
    assert state.available and len(backend.calls) == 50 and backend.bounds == []


def test_opening_the_store_is_not_store_time_and_a_failure_to_open_is_one() -> None:
    def broken() -> Store:
        raise FileNotFoundError("the directory of the sqlite STATE_URL does not exist")

    state = GuardedStore(opener=broken, budget=1.0)
    assert state.get("k") is None and state.problem == "get: FileNotFoundError" and state.used() == 0.0


def test_a_get_many_of_the_wrong_length_is_a_failure() -> None:
    state, backend, _ = guarded()
    backend.short = []
    assert state.get_many(["a", "b"]) == [None, None]
    assert state.problem == "get: ProtocolError: unexpected reply to MGET"


def test_reading_ahead_is_one_call_and_a_write_forgets_the_key() -> None:
    state, backend, _ = guarded()
    backend.data.update(a="1", b="2")
    state.read_ahead(["a", "b", "c", "a"])
    assert [state.get(k) for k in ("a", "b", "c", "a")] == ["1", "2", None, "1"]
    assert backend.calls == ["get_many"]
    state.set("a", "3", 10)
    assert state.get("a") == "3" and backend.calls == ["get_many", "set", "get"]


def test_a_rejected_record_is_logged_once_and_dropped(caplog: Any) -> None:
    state, backend, _ = guarded()
    backend.data["evidence:1"] = "bad"
    with caplog.at_level(logging.WARNING, logger="sms_receipt_stats.state"):
        for _ in range(3):
            state.reject("evidence ledger", "evidence:1")
    assert [r.getMessage() for r in caplog.records] == [
        "state store: dropping an unreadable evidence ledger (evidence:1)"]
    assert backend.data == {} and backend.calls == ["delete"]
