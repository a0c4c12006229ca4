"""Make a long replay cheap without changing what it measures.

A replayed quarter runs the hourly check 2,184 times, and each run reads and rewrites every
app's evidence ledger (`state/evidence.py`: 192 hours per app, each decoded into a validated
`Stats`). In production that is a few milliseconds a run; over a quarter it was most of the
replay's time (bench/README.md, "Alert quality"). Almost every hour of a ledger is the same from
one run to the next, so `memo_codec` swaps the ledger's `encode`/`decode` for memoizing twins
while a replay runs:

- `decode` parses the JSON and reuses the `Seen` already built for an identical entry (`Seen`
  and `Stats` are frozen, so sharing them is safe); only new entries are validated;
- `encode` reuses the JSON text of each `Seen` it already wrote.

The twins are checked against the product's own codec on a sample ledger when installed: if the
product's format ever changes, the check fails and the product's codec is kept (slower, never
different). The memo is bounded and dropped when the replay ends.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple

#: entries kept per memo before it is cleared (a quarter of 12 apps needs about 26,000)
MEMO_LIMIT = 200_000

_lock = threading.Lock()
_depth = 0
_saved: Optional[Tuple[Callable[..., Any], Callable[..., Any]]] = None


class LedgerCodec:
    """Memoizing `encode`/`decode` with the product codec's exact output (module docstring)."""

    #: ledger texts kept from `encode` for the next `decode` (one per app and run is read back)
    TEXTS = 256

    def __init__(self, fields: Tuple[str, ...], seen_type: Any, stats_type: Any,
                 fallback: Optional[Callable[[Optional[str]], Any]] = None):
        self.fields = fields
        #: the product's decode, for a text this codec did not write (it validates untrusted records)
        self.fallback = fallback
        self.seen_type = seen_type
        self.stats_type = stats_type
        self._by_entry: Dict[Tuple[Any, ...], Any] = {}
        self._by_seen: Dict[int, Tuple[Any, str, Any]] = {}
        self._texts: Dict[str, Dict[int, Any]] = {}

    def _decoded(self, values: Sequence[Any]) -> Any:
        """The `Seen` the product's decode makes of one entry, built once per distinct entry."""
        entry = tuple(values)
        seen = self._by_entry.get(entry)
        if seen is None:
            width = len(self.fields)
            stats = self.stats_type(**dict(zip(self.fields, values[:width])))
            seen = self.seen_type(stats, float(values[width]))
            if len(self._by_entry) >= MEMO_LIMIT:
                self._by_entry.clear()
            self._by_entry[entry] = seen
        return seen

    def encode(self, hours: Mapping[int, Any]) -> str:
        parts = []
        twins = {}
        memo = self._by_seen
        for index, seen in sorted(hours.items()):
            kept = memo.get(id(seen))
            if kept is None or kept[0] is not seen:
                values = [*(getattr(seen.stats, f) for f in self.fields), round(seen.lag)]
                text = json.dumps(values, separators=(",", ":"))
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                # the object is held, so its id stays its own; its twin is what decode will read
                kept = memo[id(seen)] = (seen, text, self._decoded(json.loads(text)))
            parts.append(f'"{index}":{kept[1]}')
            twins[index] = kept[2]
        raw = "{" + ",".join(parts) + "}"
        if len(self._texts) >= self.TEXTS:
            self._texts.clear()
        self._texts[raw] = twins
        return raw

    def decode(self, raw: Optional[str]) -> Optional[Dict[int, Any]]:
        if not raw:
            return {}
        written = self._texts.get(raw)
        if written is not None:
            return dict(written)
        if self.fallback is not None:
            return self.fallback(raw)
        try:
            return {int(key): self._decoded(values) for key, values in json.loads(raw).items()}
        except (ValueError, TypeError, IndexError, AttributeError):
            return {}


def _sample() -> Dict[int, Any]:
    from sms_receipt_stats.rules._evidence import Seen
    from sms_receipt_stats.stats import Stats

    return {490_000 + i: Seen(Stats(RequestSuccessCount=100 + i, CallbackCount=90 + i, CallbackSuccessCount=80,
                                    CallbackFailCount=10 + i, InvalidNumberCount=i % 3, InternalErrorCount=7),
                              lag=300.4 + i * 3600.6)
            for i in range(3)}


def agrees(codec: LedgerCodec, encode: Callable[..., str], decode: Callable[..., Any]) -> bool:
    """Whether `codec` writes and reads exactly what the product's codec does, on a sample."""
    try:
        sample = _sample()
        text = encode(sample)
        if codec.encode(sample) != text or codec.encode(sample) != text:  # again: from the memo
            return False
        return all(codec.decode(raw) == decode(raw) for raw in (text, text, "", "not json", '{"1":[1]}'))
    except Exception:  # any surprise means: keep the product's codec
        return False


@contextmanager
def memo_codec() -> Iterator[bool]:
    """The evidence ledger's codec memoized while the block runs; yields whether it is in use."""
    global _depth, _saved
    from sms_receipt_stats.rules._evidence import Seen
    from sms_receipt_stats.state import evidence
    from sms_receipt_stats.stats import STAT_FIELDS, Stats

    with _lock:
        if _depth == 0:
            codec = LedgerCodec(tuple(STAT_FIELDS), Seen, Stats, fallback=evidence.decode)
            if agrees(codec, evidence.encode, evidence.decode):
                _saved = (evidence.encode, evidence.decode)
                evidence.encode, evidence.decode = codec.encode, codec.decode  # type: ignore[assignment]
        _depth += 1
        active = _saved is not None
    try:
        yield active
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                evidence.encode, evidence.decode = _saved  # type: ignore[assignment]
                _saved = None
