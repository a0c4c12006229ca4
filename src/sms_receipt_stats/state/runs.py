"""Idempotent timer runs: a duplicate delivery of the same timer event never acts twice.

SCF retries a failed asynchronous invocation and may deliver one event twice. A run is keyed
by (TriggerName, job, window, apps, granularity). The first copy claims the key atomically
(`SET NX PX`) for the function's time limit, so a copy that died leaves a claim that expires
when SCF would have stopped it anyway; a copy that finished stores its (redacted) document
under the key, and a later duplicate answers with it, `"replayed": true`, without calling the
API or any sink. Two copies at once: one claims, the other sees the claim and does nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from sms_receipt_stats.windows import Window

KEY_PREFIX = "run:"
#: a finished run's document is kept this long: SCF's retries of one event come within hours
DONE_TTL = 2 * 86400.0
#: the claim of a run whose time limit is unknown (SCF's longest for an event function)
DEFAULT_CLAIM_TTL = 900.0
_RUNNING = json.dumps({"state": "running"})


@dataclass(frozen=True)
class RunClaim:
    """`claimed` (go ahead), `replay` (answer `document`), `busy` (another copy runs) or
    `unavailable` (the store failed: go ahead, stateless)."""

    outcome: str
    document: Optional[Dict[str, Any]] = None


def run_key(trigger_name: Optional[str], job: str, window: Window, app_ids: Sequence[str], granularity: str) -> str:
    spec = {"trigger": trigger_name or "", "job": job, "window": window.to_doc(), "apps": sorted(app_ids),
            "granularity": granularity}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    return KEY_PREFIX + digest[:32]


def claim_run(store: Any, key: str, ttl: float) -> RunClaim:
    for _ in range(2):  # the key may expire between a lost claim and the read
        got = store.claim(key, _RUNNING, ttl)
        if got is None:
            return RunClaim("unavailable")
        if got:
            return RunClaim("claimed")
        raw = store.get(key)
        if raw is None:
            if not getattr(store, "available", True):
                return RunClaim("unavailable")
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            return RunClaim("busy")
        if isinstance(data, dict) and data.get("state") == "done" and isinstance(data.get("document"), dict):
            return RunClaim("replay", data["document"])
        return RunClaim("busy")
    return RunClaim("busy")


def complete_run(store: Any, key: str, document: Dict[str, Any]) -> None:
    store.set(key, json.dumps({"state": "done", "document": document}, separators=(",", ":")), DONE_TTL)


def release_run(store: Any, key: str) -> None:
    """Give a claim back (the run failed before it acted): a retry may run."""
    store.delete(key)
