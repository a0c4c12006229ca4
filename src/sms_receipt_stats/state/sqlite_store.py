"""The SQLite back end (standard library): a local run, the demo, a single machine.

`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy's spelling: the
path is what follows the third slash). Two tables, `kv` and `items`, keyed under the prefix
like Redis keys, with an absolute expiry per row; expired rows are invisible and purged on
writes. Writes that must be atomic (the claim, compare-and-set) run in `BEGIN IMMEDIATE`
transactions, so two processes sharing the file cannot both win. Lock waits are bounded by
`store.CALL_TIMEOUT`; WAL mode lets readers go on while one writer writes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence
from urllib.parse import unquote, urlsplit

from sms_receipt_stats.state.store import (
    CALL_TIMEOUT,
    MAX_COUNTER,
    Backend,
    CountGroup,
    Store,
    StoreError,
    shape_error,
)

if TYPE_CHECKING:
    from urllib.parse import SplitResult

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS items (collection TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, "
    "expires REAL NOT NULL, PRIMARY KEY (collection, id))",
    "CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires)",
    "CREATE INDEX IF NOT EXISTS items_expires ON items (expires)",
)


#: the receipt counters (`count_once`): created on first use, so a store that never counts has none
_COUNT_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS seen (key TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL, "
    "PRIMARY KEY (key, member))",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT NOT NULL, field TEXT NOT NULL, value INTEGER NOT NULL, "
    "expires REAL NOT NULL, PRIMARY KEY (key, field))",
    "CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires)",
    # each batch drops its app's expired sids first: without this, a scan of the app's whole day
    "CREATE INDEX IF NOT EXISTS seen_expires ON seen (key, expires)",
)


def sqlite_path(url: str) -> str:
    """`sqlite:///a.db` -> `a.db`, `sqlite:////tmp/a.db` -> `/tmp/a.db`."""
    return unquote(urlsplit(url).path[1:])


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, url: str, prefix: str, *, clock: Callable[[], float] = time.time):
        self.prefix = prefix
        self.path = sqlite_path(url)
        self._clock = clock
        self._lock = threading.Lock()
        #: set by `abandon`: calls queued behind a failure (a lock held elsewhere) fail at once
        self._abandoned = False
        parent = Path(self.path).parent
        if not parent.is_dir():
            raise FileNotFoundError("the directory of the sqlite STATE_URL does not exist")
        import sqlite3  # here: checking a STATE_URL (config) loads this module, not the database

        # one connection shared by the query threads, serialised by the lock (sqlite serialises anyway)
        self._db = sqlite3.connect(self.path, timeout=CALL_TIMEOUT / 2, isolation_level=None,
                                   check_same_thread=False)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA busy_timeout={int(CALL_TIMEOUT * 500)}")
            for statement in _SCHEMA:
                self._db.execute(statement)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _coll(self, collection: str) -> str:
        return self.prefix + collection

    def _purge(self, now: float) -> None:
        self._db.execute("DELETE FROM kv WHERE expires <= ?", (now,))
        self._db.execute("DELETE FROM items WHERE expires <= ?", (now,))

    def get(self, key: str) -> Optional[str]:
        with self._locked():
            row = self._db.execute("SELECT value FROM kv WHERE key = ? AND expires > ?",
                                   (self._key(key), self._clock())).fetchone()
        return row[0] if row else None

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        found: Dict[str, str] = {}
        now = self._clock()
        with self._locked():
            for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                chunk = [self._key(k) for k in keys[start:start + 500]]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM kv WHERE key IN ({marks}) AND expires > ?",
                                        (*chunk, now)).fetchall()
                found.update(rows)
        return [found.get(self._key(k)) for k in keys]

    def set(self, key: str, value: str, ttl: float) -> None:
        now = self._clock()
        with self._locked():
            self._db.execute("INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                             (self._key(key), value, now + ttl))

    @contextlib.contextmanager
    def _immediate(self) -> Iterator[None]:
        """One atomic write (`BEGIN IMMEDIATE` … `COMMIT`), rolled back on any failure; a body
        may roll back itself and leave early."""
        with self._locked():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                if self._db.in_transaction:
                    self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def claim(self, key: str, value: str, ttl: float) -> bool:
        now = self._clock()
        with self._immediate():
            self._purge(now)
            cursor = self._db.execute("INSERT OR IGNORE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                                      (self._key(key), value, now + ttl))
        return cursor.rowcount == 1

    def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        now = self._clock()
        with self._immediate():
            row = self._db.execute("SELECT value FROM kv WHERE key = ? AND expires > ?",
                                   (self._key(key), now)).fetchone()
            if row is None or row[0] != expected:
                self._db.execute("ROLLBACK")
                return False
            self._db.execute("UPDATE kv SET value = ?, expires = ? WHERE key = ?",
                             (value, now + ttl, self._key(key)))
        return True

    def delete(self, key: str) -> None:
        with self._locked():
            self._db.execute("DELETE FROM kv WHERE key = ?", (self._key(key),))

    def items(self, collection: str) -> Dict[str, str]:
        with self._locked():
            rows = self._db.execute("SELECT id, value FROM items WHERE collection = ? AND expires > ? ORDER BY id",
                                    (self._coll(collection), self._clock())).fetchall()
        return dict(rows)

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        with self._locked():
            row = self._db.execute("SELECT value FROM items WHERE collection = ? AND id = ? AND expires > ?",
                                   (self._coll(collection), item_id, self._clock())).fetchone()
        return row[0] if row else None

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> bool:
        now = self._clock()
        coll = self._coll(collection)
        with self._immediate():
            self._purge(now)
            row = self._db.execute("SELECT value FROM items WHERE collection = ? AND id = ?",
                                   (coll, item_id)).fetchone()
            current = row[0] if row else None
            if current != expected:
                self._db.execute("ROLLBACK")
                return False
            if value is None:
                self._db.execute("DELETE FROM items WHERE collection = ? AND id = ?", (coll, item_id))
            else:
                self._db.execute("INSERT OR REPLACE INTO items (collection, id, value, expires) "
                                 "VALUES (?, ?, ?, ?)", (coll, item_id, value, now + ttl))
        return True

    def _count_tables(self) -> None:
        if not getattr(self, "_counting", False):
            with self._locked():
                for statement in _COUNT_SCHEMA:
                    self._db.execute(statement)
            self._counting = True

    def count_once(self, seen: str, window: float, groups: Sequence[CountGroup]) -> int:
        self._count_tables()
        now = self._clock()
        seen_key, counted, fresh = self._key(seen), 0, set()  # type: ignore[var-annotated]
        with self._immediate():  # one transaction: the batch is counted whole or not at all
            self._db.execute("DELETE FROM seen WHERE key = ? AND expires <= ?", (seen_key, now))
            self._db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            for group in groups:
                key, used = self._key(group.counters), set()
                for member, fields in group.items:
                    if group.linked:  # the per-minute view: members found new by an earlier group, once
                        if member not in fresh or member in used:
                            continue
                        used.add(member)
                    else:
                        added = self._db.execute("INSERT OR IGNORE INTO seen (key, member, expires) "
                                                 "VALUES (?, ?, ?)", (seen_key, member, now + window)).rowcount
                        if added != 1:
                            continue
                        counted += 1
                        fresh.add(member)
                    self._db.executemany(
                        "INSERT INTO counters (key, field, value, expires) VALUES (?, ?, 1, ?) "
                        "ON CONFLICT (key, field) DO UPDATE SET value = value + 1, "
                        "expires = MAX(expires, excluded.expires)",
                        [(key, field, now + group.ttl) for field in fields])
        return counted

    def read_counters(self, keys: List[str]) -> List[Dict[str, int]]:
        self._count_tables()
        found: Dict[str, Dict[str, int]] = {}
        now = self._clock()
        with self._locked():
            for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                chunk = [self._key(k) for k in keys[start:start + 500]]
                marks = ",".join("?" * len(chunk))
                for key, name, value in self._db.execute(
                        f"SELECT key, field, value FROM counters WHERE key IN ({marks}) AND expires > ?",
                        (*chunk, now)):
                    found.setdefault(key, {})[name] = int(value)
        return [found.get(self._key(k), {}) for k in keys]

    def sum_counters(self, groups: Sequence[Sequence[str]]) -> List[Dict[str, int]]:
        self._count_tables()
        sums: List[Dict[str, int]] = []
        now = self._clock()
        with self._locked():
            for group in groups:  # a statement per group: each a search of the primary key, summed by SQLite
                mine: Dict[str, int] = {}
                for start in range(0, len(group), 500):  # SQLite's limit on bound parameters
                    chunk = [self._key(k) for k in group[start:start + 500]]
                    marks = ",".join("?" * len(chunk))
                    # SUM is an integer only when every value is one (text, a BLOB or a REAL make it
                    # a REAL); MIN and MAX bound them: cheaper than a check of each value's type
                    for name, total, least, most in self._db.execute(
                            "SELECT field, SUM(value), MIN(value), MAX(value) "
                            f"FROM counters WHERE key IN ({marks}) AND expires > ? GROUP BY field",
                            (*chunk, now)):
                        if not (isinstance(total, int) and least >= 0 and most < MAX_COUNTER):
                            raise shape_error("sum_counters")  # not what count_once writes: not our data
                        mine[name] = mine.get(name, 0) + total
                sums.append(mine)
        return sums

    def ping(self) -> None:
        with self._locked():
            self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def abandon(self) -> None:
        self._abandoned = True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._abandoned:
                raise StoreError("OperationalError: gave up after an earlier failure")
            yield


def check_url(parts: SplitResult) -> Optional[str]:
    """`sqlite:///relative.db` or `sqlite:////absolute/state.db`: a file path, no host; no password."""
    if parts.netloc or not parts.path or parts.path == "/" or parts.query or parts.fragment:
        raise ValueError("sqlite needs a file path: sqlite:///relative.db or sqlite:////absolute/state.db")
    return None


BACKEND = Backend(schemes=("sqlite",), check=check_url, open=SqliteStore, example="sqlite:///path/state.db")
