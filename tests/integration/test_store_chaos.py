"""Chaos: 200 checks and reports, each with a random store fault at a random command (seeded).

The real Redis sits behind the RESP proxy (`tests/resp_proxy.py`); each run gets one fault
kind (kill the connection, stall, drip every reply 0.15 s late, or one reply rewritten into a
wrong shape) from a random command on, with the store's real timeouts and budget and a short
invocation limit (3 s on the fake context: a 0.3 s store budget). Every run must return before
its limit, with its alerts notified (the store's failure named when it went on stateless), and
never an internal error. The seed is fixed: CI sees the same 200 runs every time.
`bench/bench_store_chaos.py` prints the figures (time per fault kind, outcomes).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any, Iterator, List

import pytest

from resp_proxy import APP_PROD, RespProxy, chaos_case, count_commands, run_case

SEED = 20261207
RUNS = 200
#: the fake context's limit; one app keeps the fake API's rate limiter inside it
LIMIT_MS = 3_000
APPS = (APP_PROD,)


@pytest.fixture(scope="module")
def proxy() -> Iterator[RespProxy]:
    with RespProxy() as p:
        yield p


def test_random_store_faults_never_silence_a_run(proxy: RespProxy, tally: Any) -> None:
    commands = {job: count_commands(proxy, job, LIMIT_MS, apps=APPS) for job in ("check", "report")}
    rng = random.Random(SEED)
    broken: List[str] = []
    outcomes: Counter = Counter()
    hit = 0
    for index in range(RUNS):
        case = chaos_case(rng, index, commands)
        try:
            _, outcome = run_case(proxy, case, f"chaos-{uuid.uuid4().hex[:12]}:", LIMIT_MS, apps=APPS,
                                  watchdog=True)  # a run still going at its limit fails the case
            outcomes[outcome] += 1
            hit += bool(proxy.faults_hit)
        except AssertionError as exc:
            broken.append(f"{case}: {str(exc)[:200]}")
    tally["cases:store chaos runs"] += RUNS
    tally["faults"] += hit
    assert not broken, broken
    assert outcomes["stateless"] and outcomes["stateful"]  # both paths were taken
