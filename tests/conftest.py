"""Shared fixtures: real SCF events, a fixed clock, fake edges, and the local SMS API emulator.

Tests drive the product through its doorway (`app.handle` / `handler.main_handler`) with the
real event fixtures of `tests/events/`; every edge with a side effect (the stats API, clocks,
sleep, delivery) comes in through `JobDeps`, so no unit test sleeps or touches the network.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest
from hypothesis import settings as hypothesis_settings

from sms_receipt_stats import log as product_log
from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Settings
from sms_receipt_stats.dev.emulator import Emulator, api_stats
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.sdk import CloudError
from sms_receipt_stats.stats import Stats

# CI runs the same generated examples every time: a red build is a bug, never a roll of the dice
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

EVENTS_DIR = Path(__file__).parent / "events"

#: the bearer token the API Gateway fixtures carry (tests/events/apigw_*.json)
API_TOKEN = "fixture-api-token-7f3c9a1e5b"
#: the app of the API Gateway fixtures, then two more (ids ending in 9 are unhealthy in the emulator)
APP_PROD, APP_STAGING, APP_MARKETING = "1400006874", "1400000002", "1400000009"
APP_IDS_ENV = f"{APP_PROD}=prod,{APP_STAGING}=staging,{APP_MARKETING}=marketing"
#: the fixtures' `Time`: 2026-11-25 09:00 in Asia/Shanghai
NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=timezone.utc)
JSON_CT = "application/json; charset=utf-8"
ERROR_KEYS = {"code", "message", "request_id", "severity", "category", "retryable", "hint"}


def read_event(name: str) -> Dict[str, Any]:
    """A fresh copy of `tests/events/<name>.json` (tests may mutate it)."""
    with open(EVENTS_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


class FakeClock:
    """Monotonic clock plus sleep: sleeping advances the clock and is recorded, never waits."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: List[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class FakeFetcher:
    """A StatsFetcher without network: the emulator's pure oracle, or fixed stats, or errors.

    `fail(app_id, code, times=None)` makes calls for `app_id` raise CloudError(code) (`times`
    calls, or forever); `stats_for[app_id]` pins the stats answered for every call of an app.
    """

    def __init__(self) -> None:
        self.calls: List[Tuple[str, str, str]] = []
        self.stats_for: Dict[str, Stats] = {}
        self._faults: Dict[str, List[Any]] = {}
        self._lock = threading.Lock()
        self.on_fetch: Optional[Callable[[str, str, str], None]] = None

    def fail(self, app_id: str, code: str, times: Optional[int] = None, message: str = "injected failure",
             request_id: str = "req-error-0001") -> None:
        self._faults[app_id] = [code, times, message, request_id]

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        with self._lock:
            self.calls.append((app_id, begin_time, end_time))
            number = len(self.calls)
            fault = self._faults.get(app_id)
            if fault is not None and fault[1] is not None:
                fault[1] -= 1
                if fault[1] <= 0:
                    del self._faults[app_id]
        if self.on_fetch is not None:
            self.on_fetch(app_id, begin_time, end_time)
        if fault is not None:
            raise CloudError(fault[0], fault[2], fault[3])
        if app_id in self.stats_for:
            return self.stats_for[app_id], f"req-{number:04d}"
        return Stats(**api_stats(app_id, begin_time, end_time)), f"req-{number:04d}"

    def calls_for(self, app_id: str) -> List[Tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == app_id]


class RecordingDeliver:
    """`JobDeps.deliver` that records what would have been sent and reports success."""

    def __init__(self) -> None:
        self.docs: List[Dict[str, Any]] = []

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        self.docs.append(doc.to_json_dict())
        return [Delivery(sink="fake", ok=True, attempts=1)]


def base_env(**overrides: Optional[str]) -> Dict[str, str]:
    """A minimal environment for the fake fetcher: three apps, one API token, dummy credentials.

    An override of None removes the variable.
    """
    env = {
        "TENCENTCLOUD_SECRETID": "AKIDunit000000000000000000000000",
        "TENCENTCLOUD_SECRETKEY": "unit-secret-key-0000",
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": API_TOKEN,
    }
    return apply_overrides(env, overrides)


def apply_overrides(env: Dict[str, str], overrides: Mapping[str, Optional[str]]) -> Dict[str, str]:
    """`env` with `overrides` applied in place; an override of None removes the variable."""
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def drop_product_log_handler() -> None:
    """Forget the stdout handler `log.configure` bound, so the next call binds the current stdout."""
    logger = logging.getLogger(product_log.LOGGER_NAME)
    for handler in list(logger.handlers):
        if isinstance(handler.formatter, product_log.JsonFormatter):
            logger.removeHandler(handler)


@pytest.fixture()
def load_event() -> Callable[[str], Dict[str, Any]]:
    """`load_event(name)` → a fresh dict from `tests/events/<name>.json`."""
    return read_event


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture()
def delivered() -> RecordingDeliver:
    return RecordingDeliver()


@pytest.fixture()
def make_deps(clock: FakeClock, fetcher: FakeFetcher, delivered: RecordingDeliver) -> Callable[..., JobDeps]:
    """A fixed-clock JobDeps factory: `make_deps(now=NOW, fetcher=..., deliver=...)`.

    Defaults: the `fetcher` fixture, wall clock NOW, the fake monotonic clock and sleep of the
    `clock` fixture, and the recording `delivered` fixture.
    """

    def factory(now: datetime = NOW, fetcher: Any = fetcher, deliver: Any = delivered,
                fetcher_factory: Optional[Callable[[Settings], Any]] = None) -> JobDeps:
        factory_fn = fetcher_factory or (lambda settings: fetcher)
        return JobDeps(fetcher_factory=factory_fn, now=lambda: now, monotonic=clock.monotonic,
                       sleep=clock.sleep, deliver=deliver)

    return factory


@pytest.fixture()
def make_env() -> Callable[..., Dict[str, str]]:
    """`make_env(VAR="value", OTHER=None)` → a minimal environment dict (None removes)."""
    return base_env


@pytest.fixture()
def invoke(make_deps: Callable[..., JobDeps]) -> Callable[..., Dict[str, Any]]:
    """`invoke(event, env=None, deps=None, context=None)` → what `app.handle` returns."""

    def run(event: Any, env: Optional[Mapping[str, str]] = None, deps: Optional[JobDeps] = None,
            context: Any = None) -> Dict[str, Any]:
        return handle(event, context, env=base_env() if env is None else env, deps=deps or make_deps())

    return run


@pytest.fixture()
def emulator() -> Iterator[Emulator]:
    """The local SMS API emulator on a free loopback port (its own fixed credentials)."""
    emu = Emulator(port=0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture()
def env(emulator: Emulator) -> Dict[str, str]:
    """A minimal environment pointing SMS_ENDPOINT at the emulator, with its credentials."""
    return {
        "TENCENTCLOUD_SECRETID": emulator.secret_id,
        "TENCENTCLOUD_SECRETKEY": emulator.secret_key,
        "SMS_ENDPOINT": emulator.endpoint,
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": API_TOKEN,
    }


@pytest.fixture(autouse=True)
def _fresh_product_logger() -> Iterator[None]:
    """`log.configure` binds a stdout handler once; drop it after each test so the next test's
    captured stdout (capsys) gets a handler of its own instead of a closed stream."""
    drop_product_log_handler()
    yield
    drop_product_log_handler()


# -- state store (README "State"): the real Redis of the machine, or a SQLite file ---------------

#: the Redis every machine runs (started before the session and CI); tests use their own db and prefix
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_TEST_DB = 11


def redis_client() -> Any:
    """A plain client on the tests' database, for setup, inspection and cleanup."""
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_TEST_DB, decode_responses=True,
                       socket_timeout=5)


@pytest.fixture()
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the tests' Redis db; its keys are deleted afterwards."""
    import uuid

    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    client = redis_client()
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture()
def redis_url() -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_TEST_DB}"


@pytest.fixture(params=["sqlite", "redis"])
def state_env(request: Any, tmp_path: Path) -> Dict[str, str]:
    """STATE_URL and STATE_PREFIX for each back end: a SQLite file in tmp_path, or the real Redis."""
    if request.param == "sqlite":
        return {"STATE_URL": f"sqlite:///{tmp_path}/state.db", "STATE_PREFIX": "test:"}
    prefix = request.getfixturevalue("redis_prefix")
    return {"STATE_URL": request.getfixturevalue("redis_url"), "STATE_PREFIX": prefix}
