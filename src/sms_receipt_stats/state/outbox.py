"""The outbox: a notice a sink did not get is kept in the state store and sent by the next runs.

Without it a chat that is down when the daily report goes out never gets that report (the
run is stored as done and SCF does not retry a normal return). With a state store, each
stateful run first sends every sink its backlog, oldest first, then the current notice; a sink
whose oldest notice still fails gets nothing newer this run (order is kept) and the current
notice joins its backlog. A notice keeps its `message_id`: the generic webhook sends it as
`webhook-id` and the CMQ/webhook document carries it, so receivers drop a second copy; chat
platforms have no id and get the same text again.

What is kept: per (sink, notice) one item of the `outbox` collection holding the notice's
redacted document (the same secret-masked document the sinks get), the sink's stable id
(its kind and a hash of the entry, never its URL or secret; not its position, so reordering
NOTIFY_URLS keeps each sink's backlog), since, attempts and the last error. Bounds: a notice is
dropped once it is `MAX_AGE` old (the next daily report has replaced it by then, and a chat
flooded with day-old alerts helps nobody), a sink keeps at most `MAX_PER_SINK` notices, and
the whole outbox at most `MAX_BYTES` (the oldest go first), far below what one store reply may
carry. Items are read like any input: one that does not validate is dropped (logged once),
never a reason to hold the others back. See docs/state.md "Outbox".
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from sms_receipt_stats.documents import Delivery, PendingDelivery, ResultDocument

if TYPE_CHECKING:
    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.notify.urls import SinkSpec
    from sms_receipt_stats.state.store import GuardedStore

log = logging.getLogger("sms_receipt_stats.state")

COLLECTION = "outbox"
#: a notice older than this is dropped undelivered (see the module docstring for why)
MAX_AGE = timedelta(hours=24)
#: hourly checks for a day plus the daily report, with room to spare
MAX_PER_SINK = 48
#: the whole outbox (UTF-8 bytes of its items), read in one reply every run: far below the
#: store's reply cap (`resp.MAX_REPLY`, 16 MiB), so a backlog can never make the store unreadable
MAX_BYTES = 6 * 1024 * 1024
#: one notice larger than this is sent but not kept for a retry (it would crowd out the rest)
MAX_NOTICE_BYTES = 2 * 1024 * 1024
#: one run at a time sends a sink's backlog (another run meanwhile queues behind it)
LOCK_PREFIX = "outbox-lock:"
LOCK_TTL = 900.0
MAX_WORKERS = 8

Deliver = Callable[[ResultDocument, "Settings", Optional[float]], List[Delivery]]


def sink_id(spec: SinkSpec) -> str:
    """The sink's identity (kind, URL, name, secret), hashed: stable across runs while the entry
    is in NOTIFY_URLS, wherever it is; reveals nothing of its URL or secret."""
    entry = "\n".join((spec.kind, spec.url, spec.name, spec.secret or ""))
    return f"{spec.kind}-{hashlib.sha256(entry.encode('utf-8')).hexdigest()[:16]}"


def sink_ids(specs: Sequence[SinkSpec]) -> List[str]:
    """Each sink's id, in order; an entry listed twice gets `~2` on its second id (and so on),
    so identical entries keep a backlog each."""
    seen: Dict[str, int] = {}
    out = []
    for spec in specs:
        base = sink_id(spec)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}~{seen[base]}")
    return out


#: the ids earlier versions wrote: the entry's position first (`3-wecom-<hash>`)
_POSITIONAL = re.compile(r"^\d+-(?=[a-z])")


@dataclass
class Notice:
    """One outbox item as stored (`raw` is the stored text, for compare-and-set)."""

    item_id: str
    raw: str
    sink_id: str
    message_id: str
    since: float  # unix seconds
    attempts: int
    error: Optional[str]
    document: Dict[str, Any]

    #: the document, validated (what is sent)
    model: Optional[ResultDocument] = None

    @staticmethod
    def parse(item_id: str, raw: str, now: float) -> Optional[Notice]:
        """A stored item, checked like any input from the store; None when it does not
        validate (not JSON, a field of the wrong type, a `since` that is NaN or ahead of now, a
        document that no longer validates or has a bogus `kind`)."""
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                return None
            sink, message_id, since = data["sink_id"], data["message_id"], data["since"]
            attempts, error, document = data["attempts"], data.get("error"), data["document"]
            if not (isinstance(sink, str) and isinstance(message_id, str) and isinstance(document, dict)
                    and isinstance(since, (int, float)) and not isinstance(since, bool) and math.isfinite(since)
                    and 0 < since <= now + 60 and isinstance(attempts, int) and not isinstance(attempts, bool)
                    and 0 <= attempts < 10**6 and (error is None or isinstance(error, str))):
                return None
            model = ResultDocument.model_validate(document)
        except (ValueError, KeyError, TypeError, RecursionError):  # ValidationError is a ValueError
            return None
        return Notice(item_id=item_id, raw=raw, sink_id=_POSITIONAL.sub("", sink), message_id=message_id,
                      since=float(since), attempts=attempts, error=error, document=document, model=model)

    @property
    def size(self) -> int:
        return len(self.raw.encode("utf-8"))

    def dump(self) -> str:
        return json.dumps({"sink_id": self.sink_id, "message_id": self.message_id, "since": self.since,
                           "attempts": self.attempts, "error": self.error, "document": self.document},
                          ensure_ascii=False, separators=(",", ":"))


def _send(deliver: Deliver, doc: ResultDocument, one: Settings, deadline: Optional[float]) -> List[Delivery]:
    """One sink's delivery; a deliverer that raises counts as a failed attempt, so the notice is kept."""
    try:
        return deliver(doc, one, deadline)
    except Exception as exc:  # a sink bug must not lose the notice
        spec = one.sinks[0]
        return [Delivery(sink=spec.kind, ok=False, attempts=0, error=f"{spec.label}: unexpected {type(exc).__name__}")]


def _failure(deliveries: List[Delivery]) -> Optional[Delivery]:
    return next((d for d in deliveries if not d.ok), None)


class Outbox:
    """The outbox of one run. Every store failure leaves the run stateless (the guard's rule):
    what cannot be kept is reported in the deliveries, never raised."""

    def __init__(self, state: GuardedStore, settings: Settings, now: datetime):
        self.state = state
        self.settings = settings
        self.now = now
        self.now_ts = now.timestamp()
        #: each configured sink's id, by the spec's identity (`_id`)
        self._ids = {id(spec): sid for spec, sid in zip(settings.sinks, sink_ids(settings.sinks))}
        #: the backlog as it is after `deliver` (read once: notices carry whole documents)
        self._after: Optional[Dict[str, List[Notice]]] = None

    # -- the store ------------------------------------------------------------------------

    def _id(self, spec: SinkSpec) -> str:
        return self._ids[id(spec)]

    def _ttl(self, since: float) -> float:
        return max(1.0, MAX_AGE.total_seconds() - (self.now_ts - since))

    def backlog(self) -> Dict[str, List[Notice]]:
        """Every notice still due, by sink id, oldest first; older and unreadable ones are dropped."""
        raw = self.state.items(COLLECTION) or {}
        out: Dict[str, List[Notice]] = {}
        for item_id, value in raw.items():
            notice = Notice.parse(item_id, value, self.now_ts)
            if notice is None:
                self.state.reject("outbox notice", item_id, collection=COLLECTION, raw=value)
                continue
            if self.now_ts - notice.since >= MAX_AGE.total_seconds():
                self.state.replace(COLLECTION, item_id, value, None, 1.0)
                continue
            out.setdefault(notice.sink_id, []).append(notice)
        for notices in out.values():
            notices.sort(key=lambda n: (n.since, n.item_id))
        return out

    def _keep(self, spec: SinkSpec, document: Dict[str, Any], message_id: str, delivery: Delivery) -> None:
        sid = self._id(spec)
        notice = Notice(item_id=f"{sid}.{message_id}", raw="", sink_id=sid, message_id=message_id,
                        since=self.now_ts, attempts=delivery.attempts, error=delivery.error, document=document)
        text = notice.dump()
        if len(text.encode("utf-8")) > MAX_NOTICE_BYTES:
            log.warning("sink %s: notice too large to keep for a retry", spec.label)
            return
        self.state.replace(COLLECTION, notice.item_id, None, text, self._ttl(notice.since))

    def _update(self, notice: Notice, delivery: Optional[Delivery]) -> None:
        if delivery is None:  # delivered (or nothing to send any more): done with it
            self.state.replace(COLLECTION, notice.item_id, notice.raw, None, 1.0)
            return
        notice.attempts += delivery.attempts
        notice.error = delivery.error
        self.state.replace(COLLECTION, notice.item_id, notice.raw, notice.dump(), self._ttl(notice.since))

    def _trim(self, after: Dict[str, List[Notice]]) -> None:
        """At most MAX_PER_SINK notices per sink, and MAX_BYTES in all (the sinks no longer
        configured included): the oldest go (read once, after delivering)."""
        labels = {self._id(spec): spec.label for spec in self.settings.sinks}
        for sid, notices in list(after.items()):
            excess = max(0, len(notices) - MAX_PER_SINK)
            for old in notices[:excess]:
                log.warning("sink %s: outbox full, dropping its oldest notice", labels.get(sid, "(removed)"))
                self.state.replace(COLLECTION, old.item_id, old.raw, None, 1.0)
            if excess:
                after[sid] = notices[excess:]
        everything = sorted((n for notices in after.values() for n in notices), key=lambda n: (n.since, n.item_id))
        total = sum(n.size for n in everything)
        for old in everything:
            if total <= MAX_BYTES:
                break
            log.warning("sink %s: outbox over %d bytes, dropping its oldest notice",
                        labels.get(old.sink_id, "(removed)"), MAX_BYTES)
            self.state.replace(COLLECTION, old.item_id, old.raw, None, 1.0)
            after[old.sink_id].remove(old)
            total -= old.size

    # -- delivery -------------------------------------------------------------------------

    def deliver(self, doc: Optional[ResultDocument], deliver: Deliver, deadline: Optional[float]) -> List[Delivery]:
        """Each sink's backlog, oldest first, then `doc` (None: the backlog only); one
        outcome per sink that was sent something or had something to send, in NOTIFY_URLS order."""
        specs = list(self.settings.sinks)
        backlog = self.backlog() if self.state.available else {}
        if not self.state.available:  # the store failed: deliver as a stateless run would
            return deliver(doc, self.settings, deadline) if doc is not None else []
        document = doc.to_json_dict() if doc is not None else None
        results: Dict[int, List[Delivery]] = {}
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(specs)) or 1, thread_name_prefix="outbox") as pool:
            futures = {i: pool.submit(self._one_sink, spec, backlog.get(self._id(spec), []), doc, document,
                                      deliver, deadline) for i, spec in enumerate(specs)}
            for i, future in futures.items():
                try:
                    results[i] = future.result()
                except Exception as exc:  # one sink's surprise must not cost the others
                    results[i] = [Delivery(sink=specs[i].kind, ok=False, attempts=0,
                                           error=f"{specs[i].label}: unexpected {type(exc).__name__}")]
        self._after = self.backlog() if self.state.available else {}
        self._trim(self._after)
        return [d for i in sorted(results) for d in results[i]]

    def _one_sink(self, spec: SinkSpec, notices: List[Notice], doc: Optional[ResultDocument],
                  document: Optional[Dict[str, Any]], deliver: Deliver, deadline: Optional[float]) -> List[Delivery]:
        one = self.settings.model_copy(update={"sinks": [spec]})
        outcomes: List[Delivery] = []
        blocked: Optional[str] = None
        locked = False
        if notices:
            got = self.state.claim(LOCK_PREFIX + self._id(spec), "1", LOCK_TTL)
            if got is False:
                blocked = "another run is sending this sink's earlier notices"
            else:
                locked = bool(got)
        try:
            if blocked is None:
                for index, notice in enumerate(notices):
                    assert notice.model is not None  # parse validated it
                    sent = _send(deliver, notice.model, one, deadline)
                    outcomes.extend(sent)
                    failed = _failure(sent)
                    self._update(notice, failed)
                    if failed is not None:
                        blocked = f"held back behind {len(notices) - index} undelivered earlier notice(s)"
                        break
            if doc is None or document is None:
                return outcomes
            from sms_receipt_stats.notify.base import new_message_id

            message_id = doc.message_id or new_message_id()
            if blocked is not None:
                if _wants(spec, doc, self.settings):
                    held = Delivery(sink=spec.kind, ok=False, attempts=0, error=f"{spec.label}: {blocked}")
                    outcomes.append(held)
                    self._keep(spec, document, message_id, held)
                return outcomes
            sent = _send(deliver, doc, one, deadline)
            outcomes.extend(sent)
            failed = _failure(sent)
            if failed is not None:
                self._keep(spec, document, message_id, failed)
            return outcomes
        finally:
            if locked:
                self.state.delete(LOCK_PREFIX + self._id(spec))

    def pending(self) -> List[PendingDelivery]:
        """What the configured sinks have still to get, oldest first (for the result document)."""
        from sms_receipt_stats.measure import generated_at

        by_id = {self._id(spec): spec for spec in self.settings.sinks}
        out: List[Tuple[float, str, PendingDelivery]] = []
        after = self._after if self._after is not None else self.backlog()
        for sid, notices in after.items():
            spec = by_id.get(sid)
            if spec is None:
                continue  # an entry no longer in NOTIFY_URLS: it expires unsent
            for n in notices:
                since = generated_at(datetime.fromtimestamp(n.since, timezone.utc), self.settings.timezone)
                out.append((n.since, spec.label, PendingDelivery(sink=spec.label, message_id=n.message_id,
                                                                 since=since, attempts=n.attempts, error=n.error)))
        return [p for _, _, p in sorted(out, key=lambda t: (t[0], t[1]))]


def _wants(spec: SinkSpec, doc: ResultDocument, settings: Settings) -> bool:
    """Whether this sink would send anything for `doc` (its min_severity may leave it nothing)."""
    from sms_receipt_stats.notify.delivery import build_sinks

    try:
        return build_sinks([spec])[0].prepare(doc, settings) is not None
    except Exception:  # a sink that cannot build its message is reported by delivery, not queued
        return False
