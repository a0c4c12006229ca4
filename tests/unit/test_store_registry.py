"""The store registry: each back end module declares its schemes, and a new one needs no other file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest

from sms_receipt_stats import state
from sms_receipt_stats.config import load_settings, parse_state_url
from sms_receipt_stats.state import store as store_module
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.store import StoreError, backends, discover
from support import FakeFetcher, RecordingDeliver, base_env, read_event

ROOT = Path(__file__).resolve().parents[2]

#: a throwaway back end, written as a new `state/memory_store.py` would be: a dict per URL
MEMORY_MODULE = '''
import time
from typing import Dict, List, Optional, Tuple

from sms_receipt_stats.state.store import Backend, Store

#: url -> {key: (value, expires)}, and url -> {collection: {id: (value, expires)}}
KEYS: Dict[str, Dict[str, Tuple[str, float]]] = {}
ITEMS: Dict[str, Dict[str, Dict[str, Tuple[str, float]]]] = {}


class MemoryStore(Store):
    kind = "memory"

    def __init__(self, url: str, prefix: str):
        self.prefix = prefix
        self.kv = KEYS.setdefault(url, {})
        self.colls = ITEMS.setdefault(url, {})

    def _live(self, entry):
        return entry[0] if entry is not None and entry[1] > time.time() else None

    def get(self, key):
        return self._live(self.kv.get(self.prefix + key))

    def get_many(self, keys):
        return [self.get(k) for k in keys]

    def set(self, key, value, ttl):
        self.kv[self.prefix + key] = (value, time.time() + ttl)

    def claim(self, key, value, ttl):
        if self.get(key) is not None:
            return False
        self.set(key, value, ttl)
        return True

    def swap(self, key, expected, value, ttl):
        if self.get(key) != expected:
            return False
        self.set(key, value, ttl)
        return True

    def delete(self, key):
        self.kv.pop(self.prefix + key, None)

    def items(self, collection):
        coll = self.colls.get(self.prefix + collection, {})
        return {i: e[0] for i, e in coll.items() if self._live(e) is not None}

    def get_item(self, collection, item_id):
        return self._live(self.colls.get(self.prefix + collection, {}).get(item_id))

    def replace(self, collection, item_id, expected, value, ttl):
        if self.get_item(collection, item_id) != expected:
            return False
        coll = self.colls.setdefault(self.prefix + collection, {})
        if value is None:
            coll.pop(item_id, None)
        else:
            coll[item_id] = (value, time.time() + ttl)
        return True

    def ping(self):
        pass

    def close(self):
        pass


def check_url(parts):
    if not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ValueError("memory needs a name and nothing else: memory://name")
    return None


BACKEND = Backend(schemes=("memory",), check=check_url, open=MemoryStore, example="memory://name")
'''


@pytest.fixture
def fresh_backends() -> Iterator[None]:
    """Forget the back ends before and after, so a test's extra module never leaks into another."""
    store_module.reset_backends()
    yield
    store_module.reset_backends()


@pytest.fixture
def extra_module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_backends: None) -> Iterator[Path]:
    """A directory the `state` package also looks in: a `*_store.py` dropped there is a new back end."""
    monkeypatch.setattr(state, "__path__", [*state.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("sms_receipt_stats.state.") and m.endswith("memory_store")]:
        del sys.modules[name]


def test_the_package_back_ends_are_found_by_scheme() -> None:
    found = backends()
    assert sorted(found) == ["redis", "rediss", "sqlite"]
    from sms_receipt_stats.state.redis_store import RedisStore
    from sms_receipt_stats.state.sqlite_store import SqliteStore

    assert found["redis"].open is RedisStore and found["rediss"] is found["redis"]
    assert found["sqlite"].open is SqliteStore


def test_only_modules_named_store_are_back_ends(tmp_path: Path) -> None:
    """The other state modules (alerts, outbox, ...) are never imported by the scan."""
    (tmp_path / "helpers.py").write_text("raise AssertionError('imported')\n", encoding="utf-8")
    (tmp_path / "_private_store.py").write_text("raise AssertionError('imported')\n", encoding="utf-8")
    assert discover([str(tmp_path)]) == {}


def test_a_store_module_without_a_declaration_is_a_loud_bug(extra_module_dir: Path) -> None:
    (extra_module_dir / "memory_store.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="memory_store declares no BACKEND"):
        discover()


def test_an_unknown_scheme_lists_the_schemes_there_are() -> None:
    with pytest.raises(ValueError, match=r"^the scheme must be redis://, rediss:// or sqlite:///$"):
        parse_state_url("memory://x")
    with pytest.raises(StoreError, match="unsupported state store scheme 'memory'"):
        open_store("memory://x", "t:")


def test_a_new_back_end_module_works_end_to_end_without_touching_another_file(
        extra_module_dir: Path, invoke: Callable[..., Dict[str, Any]], fetcher: FakeFetcher,
        delivered: RecordingDeliver) -> None:
    (extra_module_dir / "memory_store.py").write_text(textwrap.dedent(MEMORY_MODULE), encoding="utf-8")

    assert parse_state_url("memory://x") == ("memory", None)
    with pytest.raises(ValueError, match="memory needs a name"):
        parse_state_url("memory://x/path")
    with pytest.raises(ValueError, match=r"scheme must be memory://, redis://, rediss:// or sqlite:///"):
        parse_state_url("ftp://x")
    settings, issues = load_settings(base_env(STATE_URL="memory://x"))
    assert not issues and settings.state_url is not None

    env = base_env(STATE_URL="memory://x", STATE_PREFIX="t:")
    context = {"request_id": "r-1", "time_limit_in_ms": 30_000}
    first = invoke(read_event("timer_check_last_hour"), env=env, context=context)
    assert first["kind"] == "check" and first["results"]
    assert not [a for a in first["alerts"] if a["rule"] in ("state_unavailable", "config_error")]
    calls = len(fetcher.calls)
    memory = sys.modules["sms_receipt_stats.state.memory_store"]
    assert any(k.startswith("t:") for k in memory.KEYS["memory://x"])  # type: ignore[attr-defined]
    # the same delivery again: the claim and the document the first run kept are in the dict
    again = invoke(read_event("timer_check_last_hour"), env=env, context=context)
    assert again["replayed"] is True and len(fetcher.calls) == calls
    assert {k: v for k, v in again.items() if k != "replayed"} == first


def test_import_handler_loads_no_back_end() -> None:
    script = ("import sys, handler\n"
              "print(sorted(m for m in sys.modules if m.startswith('sms_receipt_stats.state')))\n")
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + script],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "_store" not in done.stdout
