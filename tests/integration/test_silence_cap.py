"""The cap on silences holds under concurrent POSTs (real Redis and real SQLite, one store per thread)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any, Dict, List

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.state.flow import open_state
from sms_receipt_stats.state.silences import MAX_SILENCES, SilenceError, SilenceStore, new_silence
from support import NOW, base_env, read_event

BODY = json.loads(read_event("apigw_post_silences")["body"])
WRITERS = 12


def open_silences(env: Dict[str, str]) -> Any:
    settings, _ = load_settings(env)
    return open_state(settings)


def test_twelve_concurrent_posts_never_pass_the_cap(state_env: Dict[str, str]) -> None:
    env = base_env(**state_env)
    state = open_silences(env)
    body = {**BODY, "ends_at": (NOW + timedelta(days=2)).isoformat()}
    store = SilenceStore(state)
    for _ in range(MAX_SILENCES - 5):
        store.add(new_silence(body, NOW), NOW)
    assert state.available
    barrier = threading.Barrier(WRITERS)
    outcomes: List[str] = []

    def writer() -> None:
        mine = open_silences(env)  # its own connection, as a concurrent invocation has
        try:
            barrier.wait()
            SilenceStore(mine).add(new_silence(body, NOW), NOW)
            outcomes.append("added")
        except SilenceError as exc:
            outcomes.append(str(exc))
        finally:
            mine.close()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("added") == 5, outcomes
    assert all("already" in o or "busy" in o for o in outcomes if o != "added")
    assert len(SilenceStore(state).list()) == MAX_SILENCES
    state.close()
