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
timeouts, SQLite's lock timeout: `CALL_TIMEOUT`); `GuardedStore` turns the first failure into
"stateless from here on", so a store that is down costs a run at most about one second.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, TypeVar

from sms_receipt_stats.discovery import Lazy, declarations

if TYPE_CHECKING:
    from urllib.parse import SplitResult

log = logging.getLogger("sms_receipt_stats.state")

#: no store call may take longer than this, connect included (seconds)
CALL_TIMEOUT = 1.0

T = TypeVar("T")


class CountGroup(NamedTuple):
    """Members counted into one counters key (`Store.count_once`)."""

    #: the counters' key (relative to the prefix)
    counters: str
    #: seconds the counters are kept at least (an existing longer expiry is kept)
    ttl: float
    #: (member, the fields it adds one to)
    items: Sequence[Tuple[str, Sequence[str]]]


class StoreError(Exception):
    """The store could not answer. The message is safe to show: no URL, no password."""


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
        kept `ttl` seconds at least). Returns how many members were new. A back end without it
        raises NotImplementedError (the caller answers that the store cannot count)."""
        raise NotImplementedError("this state store cannot count receipts")

    def read_counters(self, keys: List[str]) -> List[Dict[str, int]]:
        """The counters `count_once` keeps under each key ({} when none)."""
        raise NotImplementedError("this state store cannot count receipts")

    @abstractmethod
    def ping(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Release connections (idempotent)."""


class GuardedStore:
    """A store that fails once, quietly: after the first error every call answers its default
    at once, and `problem` says what happened (for the `state_unavailable` alert)."""

    def __init__(self, store: Optional[Store] = None, *, opener: Optional[Callable[[], Store]] = None):
        self._store = store
        self._opener = opener
        self._lock = threading.Lock()
        self.problem: Optional[str] = None

    @property
    def available(self) -> bool:
        return self.problem is None

    def _backend(self) -> Store:
        with self._lock:
            if self._store is None:
                if self._opener is None:
                    raise StoreError("no state store")
                self._store = self._opener()
            return self._store

    def fail(self, problem: str) -> None:
        with self._lock:
            if self.problem is None:
                self.problem = problem
                log.warning("state store unavailable, going on stateless", extra={"code": problem})

    def call(self, operation: str, default: T, fn: Callable[[Store], T]) -> T:
        if self.problem is not None:
            return default
        try:
            return fn(self._backend())
        except Exception as exc:  # any failure of the store: the run goes on without it
            self.fail(describe_failure(operation, exc))
            return default

    # the interface, each with the answer a stateless run would get
    def get(self, key: str) -> Optional[str]:
        return self.call("get", None, lambda s: s.get(key))

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        if not keys:
            return []
        return self.call("get", [None] * len(keys), lambda s: s.get_many(keys))

    def set(self, key: str, value: str, ttl: float) -> bool:
        return self.call("set", False, lambda s: (s.set(key, value, ttl), True)[1])

    def claim(self, key: str, value: str, ttl: float) -> Optional[bool]:
        """True/False as the store says; None when the store failed (the caller goes on)."""
        return self.call("claim", None, lambda s: s.claim(key, value, ttl))

    def swap(self, key: str, expected: str, value: str, ttl: float) -> Optional[bool]:
        """True/False as the store says; None when the store failed."""
        return self.call("claim", None, lambda s: s.swap(key, expected, value, ttl))

    def delete(self, key: str) -> bool:
        return self.call("delete", False, lambda s: (s.delete(key), True)[1])

    def items(self, collection: str) -> Optional[Dict[str, str]]:
        return self.call("read", None, lambda s: s.items(collection))

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        return self.call("read", None, lambda s: s.get_item(collection, item_id))

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> Optional[bool]:
        return self.call("write", None, lambda s: s.replace(collection, item_id, expected, value, ttl))

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
