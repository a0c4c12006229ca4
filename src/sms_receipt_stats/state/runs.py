"""Idempotent timer runs: a duplicate delivery of the same timer event never acts twice.

SCF retries a failed asynchronous invocation and may deliver one event twice. A run is keyed
by (TriggerName, job, window, apps, granularity). The first copy claims the key atomically
(`SET NX PX`) and writes into the claim its own deadline (the invocation's start plus the
function's time limit): SCF has stopped that copy by then, so a claim past its deadline belongs
to a dead copy and the next copy takes it over (compare-and-set, so only one does), whatever
the key's own expiry says. A copy that finished stores its (redacted) document under the key,
and a later duplicate answers with it, `"replayed": true`, without calling the API (pending
deliveries are retried: `state.outbox`). Two copies at once: one claims, the other is busy.
See docs/state.md "Idempotent runs and claims".
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from sms_receipt_stats.windows import Window

KEY_PREFIX = "run:"
#: a finished run's document is kept this long: SCF's retries of one event come within hours
DONE_TTL = 2 * 86400.0
#: the claim of a run whose time limit is unknown (SCF's longest for an event function)
DEFAULT_CLAIM_TTL = 900.0


#: a live claim's deadline lies at most this far ahead (SCF's longest invocation, a day, and
#: an hour to spare); one further ahead (1e300, Infinity) is a bad record, not a live owner
MAX_CLAIM_AHEAD = 25 * 3600.0


def _running(until: float, owner: str) -> str:
    return json.dumps({"state": "running", "until": round(until, 3), "owner": owner}, separators=(",", ":"))


@dataclass(frozen=True)
class RunClaim:
    """`claimed` (go ahead), `replay` (answer `document`), `busy` (another copy runs) or
    `unavailable` (the store failed: go ahead, stateless)."""

    outcome: str
    #: replay: the stored document, validated (a `ResultDocument`)
    document: Any = None
    #: busy: when the owner's claim ends (unix seconds), if the owner wrote it
    until: Optional[float] = None
    #: claimed: True when this copy took over the claim of a copy past its deadline (or a bad record)
    took_over: bool = False


def run_key(trigger_name: Optional[str], job: str, window: Window, app_ids: Sequence[str], granularity: str) -> str:
    spec = {"trigger": trigger_name or "", "job": job, "window": window.to_doc(), "apps": sorted(app_ids),
            "granularity": granularity}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    return KEY_PREFIX + digest[:32]


def _parse(raw: str, now: float) -> Tuple[str, Any]:
    """What a stored run record is, checked like any input from the store: ("running", (until,
    owner)), ("done", ResultDocument) or ("bad", None) for anything else (not JSON, an `until`
    that is NaN, infinite or absurdly far, a document that no longer validates)."""
    from pydantic import ValidationError

    from sms_receipt_stats.documents import ResultDocument

    try:
        data = json.loads(raw)
    except ValueError:
        return "bad", None
    if not isinstance(data, dict):
        return "bad", None
    if data.get("state") == "running":
        until, owner = data.get("until"), data.get("owner")
        if (isinstance(until, (int, float)) and not isinstance(until, bool) and math.isfinite(until)
                and 0 < until <= now + MAX_CLAIM_AHEAD):
            return "running", (float(until), owner if isinstance(owner, str) else None)
        return "bad", None
    if data.get("state") == "done" and isinstance(data.get("document"), dict):
        try:
            return "done", ResultDocument.model_validate(data["document"])
        except (ValidationError, ValueError, TypeError):
            return "bad", None
    return "bad", None


def claim_run(store: Any, key: str, ttl: float, now: float) -> RunClaim:
    """Claim the run until `now + ttl` (unix seconds: this copy's deadline).

    The claim carries a random owner token: a copy whose `SET NX` went through but whose answer
    was lost (or misread) finds its own claim on the read that follows and goes ahead. A record
    that does not validate is dropped (logged once) by taking it over, compare-and-set.
    """
    owner = secrets.token_hex(8)
    mine = _running(now + ttl, owner)
    for _ in range(3):  # the key may expire or be taken over between a lost claim and the read
        got = store.claim(key, mine, ttl)
        if got is None:
            return RunClaim("unavailable")
        if got:
            return RunClaim("claimed")
        raw = store.get(key)
        if raw is None:
            if not getattr(store, "available", True):
                return RunClaim("unavailable")
            continue
        kind, value = _parse(raw, now)
        if kind == "done":
            return RunClaim("replay", value)
        if kind == "running" and value[1] == owner:
            return RunClaim("claimed")
        if kind == "bad":
            reject = getattr(store, "reject", None)
            if reject is not None:
                reject("run record", key, drop=False)
        if kind == "bad" or value[0] <= now:
            swapped = store.swap(key, raw, mine, ttl)  # the owner is past its deadline: it is dead
            if swapped is None:
                return RunClaim("unavailable")
            if swapped:
                return RunClaim("claimed", took_over=True)
            continue
        return RunClaim("busy", until=value[0])
    return RunClaim("busy")


def complete_run(store: Any, key: str, document: Dict[str, Any]) -> None:
    store.set(key, json.dumps({"state": "done", "document": document}, separators=(",", ":")), DONE_TTL)


def release_run(store: Any, key: str) -> None:
    """Give a claim back (the run failed before it acted): a retry may run."""
    store.delete(key)
