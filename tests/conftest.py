"""Shared fixtures: real SCF events, a fixed clock, fake edges, and the local SMS API emulator.

The plain pieces behind them (constants, FakeClock, FakeFetcher, RecordingDeliver, env and
event builders) live in tests/support.py; test modules import those with `from support import`.

Tests drive the product through its doorway (`app.handle` / `handler.main_handler`) with the
real event fixtures of `tests/events/`; every edge with a side effect (the stats API, clocks,
sleep, delivery) comes in through `JobDeps`, so no unit test sleeps or touches the network.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

import pytest
from hypothesis import settings as hypothesis_settings

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Settings
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.jobs import JobDeps
from support import (
    API_TOKEN,
    APP_IDS_ENV,
    NOW,
    FakeClock,
    FakeFetcher,
    RecordingDeliver,
    base_env,
    drop_product_log_handler,
    read_event,
    redis_client,
    redis_state_url,
)

# CI runs the same generated examples every time: a red build is a bug, never a roll of the dice
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

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


# -- state store (docs/state.md): the real Redis of the machine, or a SQLite file ---------------

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


@pytest.fixture(name="redis_url")
def redis_url_fixture() -> str:
    return redis_state_url()


@pytest.fixture(params=["sqlite", "redis"])
def state_env(request: Any, tmp_path: Path) -> Dict[str, str]:
    """STATE_URL and STATE_PREFIX for each back end: a SQLite file in tmp_path, or the real Redis."""
    if request.param == "sqlite":
        return {"STATE_URL": f"sqlite:///{tmp_path}/state.db", "STATE_PREFIX": "test:"}
    prefix = request.getfixturevalue("redis_prefix")
    return {"STATE_URL": request.getfixturevalue("redis_url"), "STATE_PREFIX": prefix}


# -- the property and fault tests' tally, printed in pytest's terminal summary ---------------------

TALLY: Counter = Counter()


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Any]:
    """A GuardedStore over a fresh SQLite file (the real back end, no server needed)."""
    from sms_receipt_stats.state.flow import open_store
    from sms_receipt_stats.state.store import GuardedStore

    guarded = GuardedStore(open_store(f"sqlite:///{tmp_path}/state.db", "t:"))
    yield guarded
    guarded.close()


@pytest.fixture(scope="session")
def tally() -> Counter:
    """`tally["cases:<property>"] += 1` per case run, `tally["faults"] += n`, `tally["outputs scanned"] += n`."""
    return TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the property, fault and secret tests really ran (a leak or crash fails its test instead)."""
    if not TALLY:
        return
    cases = {k.split(":", 1)[1]: v for k, v in TALLY.items() if k.startswith("cases:")}
    terminalreporter.write_line(
        f"properties and faults: {sum(cases.values())} cases run over {len(cases)} properties, "
        f"{TALLY['faults']} faults injected, {TALLY['outputs scanned']} outputs scanned for secrets"
    )
    for name in sorted(cases):
        terminalreporter.write_line(f"  {name}: {cases[name]}")
