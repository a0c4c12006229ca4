"""The state store: one small interface, two back ends, and a guard that never lets it stall a run.

The interface is a key-value store with expiries plus *collections* (alert records,
silences): items kept under one name, each with its own expiry, replaced atomically with a
compare-and-set. Everything the product keeps (alert lifecycle, silences, idempotent runs,
the settled-stats cache) is written once on top of it, in the modules beside this one, so a
back end is only these few operations: `RedisStore` (production: TencentDB for Redis in the
function's VPC) and `SqliteStore` (a local run, the demo).

Back ends register themselves: a module of this package named `*_store.py` declares
`BACKEND = Backend(...)` (its URL schemes, its URL check, how it opens), and `backends()` finds
it by a listing of the package on first use, like `notify/platforms/` and `rules/`. So a new back
end is one module (docs/state.md, "Back ends"); `config.parse_state_url` and `flow.open_store`
ask the registry, and `import handler` loads no back end.

Every key lives under `STATE_PREFIX` and everything expires. Every call is bounded (socket
timeouts, SQLite's lock timeout: `CALL_TIMEOUT`), and so is the run's store time in all
(`budget_for`: a share of the invocation's time limit); `GuardedStore` turns the first failure
(an error, a reply of the wrong shape, the budget spent) into "stateless from here on", so a
store that is down or slow costs a run at most its budget and one call.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple, TypeVar

from sms_receipt_stats.discovery import Lazy, declarations

if TYPE_CHECKING:
    from urllib.parse import SplitResult

log = logging.getLogger("sms_receipt_stats.state")

#: no store call may take longer than this, connect included (seconds)
CALL_TIMEOUT = 1.0
#: a receipt counter (`count_once`) read back at or above this is not ours (no hour counts a
#: thousand million million receipts): `sum_counters` fails instead of summing it
MAX_COUNTER = 10**15
#: ... and a sum at or above this (2^53: Lua's numbers, Redis's scripts, stay exact below it)
MAX_SUM = 2**53

T = TypeVar("T")


class CountGroup(NamedTuple):
    """Members counted into one counters key (`Store.count_once`)."""

    #: the counters' key (relative to the prefix)
    counters: str
    #: seconds the counters are kept at least (an existing longer expiry is kept)
    ttl: float
    #: (member, the fields it adds one to)
    items: Sequence[Tuple[str, Sequence[str]]]
    #: a second view of members counted by an earlier group of the same call (the receipts'
    #: per-minute counters): a member adds here only if it was new in this call, and the seen
    #: set is neither read nor written for it, so it costs no memory there and never counts twice
    linked: bool = False


class StoreError(Exception):
    """The store could not answer. The message is safe to show: no URL, no password."""


class Status(str):
    """A RESP simple-string reply (`+OK`, `+PONG`), told apart from a bulk string of the same
    text: a `GET` answered `+OK` is a store failure, not a value (`redis_store` checks shapes)."""


def shape_error(command: str) -> StoreError:
    """The store answered with a reply of the wrong shape: a failure, never a value to trust."""
    return StoreError(f"ProtocolError: unexpected reply to {command}")


class Store(ABC):
    """What a back end implements. Keys are relative to the prefix; ttl in seconds (> 0)."""

    @abstractmethod
    def get(self, key: str) -> Optional[str]: ...

    @abstractmethod
    def get_many(self, keys: List[str]) -> List[Optional[str]]: ...

    @abstractmethod
    def set(self, key: str, value: str, ttl: float) -> None: ...

    @abstractmethod
    def claim(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` only if it does not exist (Redis `SET NX PX`); True when this caller got it."""

    @abstractmethod
    def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        """Atomically: if `key` holds `expected`, make it `value` with `ttl`; False, changing nothing,
        when it holds anything else or nothing (taking over a dead run's claim)."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def items(self, collection: str) -> Dict[str, str]:
        """Every unexpired item of a collection: {item id: value}."""

    @abstractmethod
    def get_item(self, collection: str, item_id: str) -> Optional[str]: ...

    @abstractmethod
    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> bool:
        """Atomically: if the item's value is `expected` (None: absent), make it `value` (None:
        remove it) with `ttl`. False, changing nothing, when someone else changed it first."""

    def count_once(self, seen: str, window: float, groups: Sequence[CountGroup]) -> int:
        """Atomically, for every member of every group that `seen` has not held in the last `window`
        seconds: remember it, and add one to each of its fields in the group's counters (a hash
        kept `ttl` seconds at least). A `linked` group counts a member only when an earlier group
        of this call found it new (and adds nothing to the total). Returns how many members were
        new. A back end without it
        raises NotImplementedError (the caller answers that the store cannot count)."""
        raise NotImplementedError("this state store cannot count receipts")

    def read_counters(self, keys: List[str]) -> List[Dict[str, int]]:
        """The counters `count_once` keeps under each key ({} when none)."""
        raise NotImplementedError("this state store cannot count receipts")

    def sum_counters(self, groups: Sequence[Sequence[str]]) -> List[Dict[str, int]]:
        """Per group of keys, the sum of their counters field by field ({} when none): what a
        reader of many hours wants, without shipping every hour back. Every counter must be an
        integer in [0, MAX_COUNTER) and every sum below MAX_SUM, else a StoreError (what is read
        back is not trusted). Back ends sum inside the store (a Lua script, a SQL SUM); this
        fallback sums what `read_counters` returns, with the same checks."""
        keys = [key for group in groups for key in group]
        found = self.read_counters(keys) if keys else []
        if len(found) != len(keys):
            raise shape_error("sum_counters")
        sums: List[Dict[str, int]] = []
        position = 0
        for group in groups:
            total: Dict[str, int] = {}
            for counters in found[position:position + len(group)]:
                for name, value in counters.items():
                    if not is_counter(value):
                        raise shape_error("sum_counters")
                    total[name] = total.get(name, 0) + value
            position += len(group)
            sums.append(total)
        return sums

    @abstractmethod
    def ping(self) -> None: ...

    def bound(self, seconds: float) -> None:
        """Let the next calls take at most `seconds` (what is left of the run's store budget,
        when less than `CALL_TIMEOUT`); a back end that cannot bound a call may ignore it."""
        return None  # optional for a back end, hence not abstract

    def abandon(self) -> None:
        """The guard gave up on this store for the run: calls queued behind the failure may fail
        at once instead of each waiting out its own timeout (the Redis client does so anyway)."""
        return None  # optional for a back end, hence not abstract

    @abstractmethod
    def close(self) -> None:
        """Release connections (idempotent)."""


#: the store's share of a run's time limit: past it the run goes on stateless (docs/state.md "Bounds")
BUDGET_SHARE = 0.1
#: ... within these bounds (seconds): a report's hundred-odd commands take about 0.1 s on a
#: Redis in the function's VPC (bench/bench_store_chaos.py), so even the floor leaves room
MIN_BUDGET, MAX_BUDGET = 0.25, 10.0
#: the budget of a timer run whose time limit is unknown (no context)
DEFAULT_BUDGET = 3.0


def budget_for(time_limit: Optional[float]) -> float:
    """The seconds of store time a run whose invocation may last `time_limit` seconds gets."""
    if time_limit is None or not time_limit > 0:
        return DEFAULT_BUDGET
    return min(MAX_BUDGET, max(MIN_BUDGET, BUDGET_SHARE * time_limit))


class GuardedStore:
    """A store that fails once, quietly: after the first error every call answers its default
    at once, and `problem` says what happened (for the `state_unavailable` alert).

    Besides each call's own deadline (`CALL_TIMEOUT`), the run's store time is budgeted: the
    wall-clock time during which any store call was in flight (concurrent calls count once) may
    not exceed `budget` seconds; past it the store counts as failed, so a store that answers every
    command slowly costs the run its budget, not a second per command. No budget (None) for a
    long-lived user with no time limit (the CLI, a backtest); an invocation sets one (`limit`).
    """

    def __init__(self, store: Optional[Store] = None, *, opener: Optional[Callable[[], Store]] = None,
                 budget: Optional[float] = None, clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._opener = opener
        self._lock = threading.Lock()
        self.problem: Optional[str] = None
        self.budget = budget
        self._clock = clock
        #: store time spent by calls that ended; `_busy_since` is when the current busy spell began
        self.spent = 0.0
        self._inflight = 0
        self._busy_since = 0.0
        #: calls made (each one or a few commands: the figures of bench/bench_store_chaos.py)
        self.calls = 0
        #: keys of records found unreadable this run (each is logged once)
        self._rejected: Set[str] = set()
        #: values read ahead in one command (`read_ahead`), answering `get` of their keys
        self._ahead: Dict[str, Optional[str]] = {}

    @property
    def available(self) -> bool:
        return self.problem is None

    def limit(self, time_limit: Optional[float]) -> None:
        """Budget the store for an invocation that may last `time_limit` seconds (`budget_for`)."""
        self.budget = budget_for(time_limit)

    def used(self) -> float:
        """Store time so far (seconds), the call in flight included."""
        with self._lock:
            return self.spent + (self._clock() - self._busy_since if self._inflight else 0.0)

    def _backend(self) -> Store:
        with self._lock:
            if self._store is None:
                if self._opener is None:
                    raise StoreError("no state store")
                self._store = self._opener()
            return self._store

    def fail(self, problem: str) -> None:
        with self._lock:
            first, store = self.problem is None, self._store
            if first:
                self.problem = problem
        if first:
            log.warning("state store unavailable, going on stateless", extra={"code": problem})
            if store is not None:
                try:
                    store.abandon()
                except Exception:  # giving up must not fail either
                    log.debug("abandoning the state store failed")

    def _enter(self) -> None:
        with self._lock:
            if self._inflight == 0:
                self._busy_since = self._clock()
            self._inflight += 1
            self.calls += 1

    def _leave(self) -> None:
        with self._lock:
            self._inflight -= 1
            if self._inflight == 0:
                self.spent += self._clock() - self._busy_since

    def call(self, operation: str, default: T, fn: Callable[[Store], T]) -> T:
        if self.problem is not None:
            return default
        left = self.budget - self.used() if self.budget is not None else CALL_TIMEOUT
        if left <= 0:
            self.fail(self._spent(operation))
            return default
        try:
            backend = self._backend()  # opening loads the back end's module: not store time
        except Exception as exc:  # a URL that cannot open (a missing directory)
            self.fail(describe_failure(operation, exc))
            return default
        self._enter()
        try:
            if left < CALL_TIMEOUT:
                backend.bound(left)
            return fn(backend)
        except Exception as exc:  # any failure of the store: the run goes on without it
            spent = self.budget is not None and left < CALL_TIMEOUT and self.used() >= self.budget
            self.fail(self._spent(operation) if spent else describe_failure(operation, exc))
            return default
        finally:
            self._leave()

    def _spent(self, operation: str) -> str:
        return f"{operation}: TimeoutError: the store took over {self.budget:g} s this run"

    def reject(self, what: str, key: str, *, collection: Optional[str] = None, raw: Optional[str] = None,
               drop: bool = True) -> None:
        """A record read from the store that does not validate (a bad write, another version,
        tampering): logged once per key and run, then dropped (an item only if it still holds
        `raw`, so a good value written meanwhile stays; `drop=False`: the caller replaces it
        itself). Never raises."""
        where = f"{collection}/{key}" if collection is not None else key
        with self._lock:
            first = where not in self._rejected
            self._rejected.add(where)
        if not first:
            return
        log.warning("state store: dropping an unreadable %s (%s)", what, where, extra={"code": "BadRecord"})
        if not drop:
            return
        if collection is not None:
            if raw is not None:
                self.replace(collection, key, raw, None, 1.0)
        else:
            self.delete(key)

    def read_ahead(self, keys: Sequence[str]) -> None:
        """Read `keys` in one command now; a `get` of one of them answers from what was read
        until a `set` or `delete` of the key forgets it. Cuts a run's commands where it knows the
        keys it will ask for one by one (the settled cache's spans)."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._ahead]
        if wanted and self.available:
            found = self.get_many(wanted)
            if self.available:
                with self._lock:
                    self._ahead.update(zip(wanted, found))

    def _forget(self, key: str) -> None:
        with self._lock:
            self._ahead.pop(key, None)

    # the interface, each with the answer a stateless run would get
    def get(self, key: str) -> Optional[str]:
        with self._lock:
            if key in self._ahead:
                return self._ahead[key]
        return self.call("get", None, lambda s: _text(s.get(key), "GET"))

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        if not keys:
            return []

        def many(s: Store) -> List[Optional[str]]:
            found = s.get_many(keys)
            if not isinstance(found, list) or len(found) != len(keys):
                raise shape_error("MGET")
            return [_text(v, "MGET") for v in found]

        return self.call("get", [None] * len(keys), many)

    def set(self, key: str, value: str, ttl: float) -> bool:
        self._forget(key)
        return self.call("set", False, lambda s: (s.set(key, value, ttl), True)[1])

    def claim(self, key: str, value: str, ttl: float) -> Optional[bool]:
        """True/False as the store says; None when the store failed (the caller goes on)."""
        return self.call("claim", None, lambda s: s.claim(key, value, ttl))

    def swap(self, key: str, expected: str, value: str, ttl: float) -> Optional[bool]:
        """True/False as the store says; None when the store failed."""
        return self.call("claim", None, lambda s: s.swap(key, expected, value, ttl))

    def delete(self, key: str) -> bool:
        self._forget(key)
        return self.call("delete", False, lambda s: (s.delete(key), True)[1])

    def items(self, collection: str) -> Optional[Dict[str, str]]:
        def read(s: Store) -> Dict[str, str]:
            found = s.items(collection)
            if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in found.items()):
                raise shape_error("items")
            return found

        return self.call("read", None, read)

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        return self.call("read", None, lambda s: _text(s.get_item(collection, item_id), "get_item"))

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> Optional[bool]:
        return self.call("write", None, lambda s: s.replace(collection, item_id, expected, value, ttl))

    def sum_counters(self, groups: Sequence[Sequence[str]]) -> Optional[List[Dict[str, int]]]:
        """`Store.sum_counters`, its answer checked (one sum per group, text names, integers in
        [0, MAX_SUM)); None when the store could not answer."""
        def read(s: Store) -> List[Dict[str, int]]:
            found = s.sum_counters(groups)
            if not isinstance(found, list) or len(found) != len(groups):
                raise shape_error("sum_counters")
            for sums in found:
                if not isinstance(sums, dict) or not all(
                        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < MAX_SUM
                        for k, v in sums.items()):
                    raise shape_error("sum_counters")
            return found

        return self.call("read", None, read)

    def ping(self) -> bool:
        return self.call("ping", False, lambda s: (s.ping(), True)[1])

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # closing a broken connection must not fail the run
                log.debug("closing the state store failed")


def is_counter(value: object) -> bool:
    """A counter as `count_once` leaves it: an integer in [0, MAX_COUNTER) (bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNTER


def _text(value: object, command: str) -> Optional[str]:
    """A stored value is text or nothing, whatever the back end (a SQLite row may hold a BLOB)."""
    if value is None or isinstance(value, str):
        return value
    raise shape_error(command)


def describe_failure(operation: str, exc: BaseException) -> str:
    """`get: TimeoutError` and the like: the class says enough and can never quote a secret."""
    if isinstance(exc, StoreError):
        return f"{operation}: {exc}"
    return f"{operation}: {type(exc).__name__}"


@dataclass(frozen=True)
class Backend:
    """One back end as its module declares it (`BACKEND = Backend(...)` in `state/<name>_store.py`)."""

    #: the STATE_URL schemes it answers, lower case (`redis`, `rediss`)
    schemes: Tuple[str, ...]
    #: checks a split STATE_URL of one of its schemes and returns the password it carries (or
    #: None); a ValueError's text says what is wrong and never quotes the URL (it may hold one)
    check: Callable[[SplitResult], Optional[str]]
    #: opens the store of a checked URL: (url, prefix) -> Store
    open: Callable[[str, str], Store]
    #: a URL of its own, for messages (`redis://host:6379/0`)
    example: str


def discover(paths: Optional[Sequence[str]] = None) -> Dict[str, Backend]:
    """Import every `*_store` module of the package (in name order): scheme -> its Backend."""
    import sys

    package = __name__.rsplit(".", 1)[0]
    paths = list(sys.modules[package].__path__) if paths is None else paths
    found: Dict[str, Backend] = {}
    for name, backend in declarations(paths, package, "BACKEND", Backend, keep=lambda n: n.endswith("_store"),
                                      required=True):
        for scheme in backend.schemes:
            if scheme != scheme.lower() or scheme in found:
                raise RuntimeError(f"store module {name}: scheme {scheme!r} is not lower case or is declared twice")
            found[scheme] = backend
    return found


_backends: Lazy[Dict[str, Backend]] = Lazy(lambda: discover())


def backends() -> Dict[str, Backend]:
    """Every back end by URL scheme, found on first use."""
    return _backends.get()


def reset_backends() -> None:
    """Forget the back ends, so the next `backends()` looks for modules again (tests)."""
    _backends.reset()


def schemes_text(found: Dict[str, Backend]) -> str:
    """`redis://, rediss:// or sqlite:///`: the schemes a STATE_URL may have, for messages."""
    forms = [f"{scheme}://" + ("/" if found[scheme].example.startswith(f"{scheme}:///") else "")
             for scheme in sorted(found)]
    return forms[0] if len(forms) == 1 else ", ".join(forms[:-1]) + " or " + forms[-1]


def examples_text(found: Dict[str, Backend]) -> str:
    """`redis://host:6379/0 or sqlite:///path/state.db`: one URL per back end, for messages."""
    examples = list(dict.fromkeys(b.example for b in found.values()))
    return examples[0] if len(examples) == 1 else ", ".join(examples[:-1]) + " or " + examples[-1]
