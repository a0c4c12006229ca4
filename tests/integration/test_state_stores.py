"""The store interface, against both real back ends: the machine's Redis and a SQLite file."""

from __future__ import annotations

import threading
import time
from typing import Dict, Iterator

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.store import GuardedStore, Store
from support import redis_client, redis_state_url


@pytest.fixture()
def store(state_env: Dict[str, str]) -> Iterator[Store]:
    s = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    try:
        yield s
    finally:
        s.close()


def test_set_get_and_expiry(store: Store) -> None:
    store.set("a", "1", ttl=60)
    store.set("short", "2", ttl=0.15)
    assert store.get("a") == "1"
    assert store.get_many(["a", "missing", "short"]) == ["1", None, "2"]
    time.sleep(0.3)
    assert store.get("short") is None
    assert store.get("a") == "1"
    store.delete("a")
    assert store.get("a") is None


def test_claim_is_set_if_absent(store: Store) -> None:
    assert store.claim("run", "first", ttl=60) is True
    assert store.claim("run", "second", ttl=60) is False
    assert store.get("run") == "first"
    assert store.claim("brief", "x", ttl=0.15) is True
    time.sleep(0.3)
    assert store.claim("brief", "y", ttl=60) is True  # an expired claim can be taken again


def test_swap_is_compare_and_set_on_a_key(store: Store) -> None:
    assert store.swap("run", "anything", "x", ttl=60) is False  # absent: nothing to swap
    assert store.get("run") is None
    store.set("run", "dead", ttl=60)
    assert store.swap("run", "other", "mine", ttl=60) is False
    assert store.swap("run", "dead", "mine", ttl=0.15) is True
    assert store.get("run") == "mine"
    time.sleep(0.3)
    assert store.get("run") is None  # the swapped value carries the new ttl


def test_one_swap_wins_among_threads(state_env: Dict[str, str]) -> None:
    stores = [open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"]) for _ in range(8)]
    stores[0].set("taken", "dead", ttl=60)
    barrier = threading.Barrier(len(stores))
    wins = []

    def contend(s: Store, n: int) -> None:
        barrier.wait()
        if s.swap("taken", "dead", str(n), ttl=60):
            wins.append(n)

    threads = [threading.Thread(target=contend, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(wins) == 1


def test_one_claim_wins_among_threads(state_env: Dict[str, str]) -> None:
    stores = [open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"]) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    wins = []

    def contend(s: Store, n: int) -> None:
        barrier.wait()
        if s.claim("contended", str(n), ttl=60):
            wins.append(n)

    threads = [threading.Thread(target=contend, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(wins) == 1


def test_replace_is_compare_and_set(store: Store) -> None:
    assert store.replace("alerts", "fp1", None, "v1", ttl=60) is True
    assert store.replace("alerts", "fp1", None, "again", ttl=60) is False  # exists: expected absent fails
    assert store.replace("alerts", "fp1", "stale", "v2", ttl=60) is False
    assert store.get_item("alerts", "fp1") == "v1"
    assert store.replace("alerts", "fp1", "v1", "v2", ttl=60) is True
    assert store.items("alerts") == {"fp1": "v2"}
    assert store.replace("alerts", "fp1", "v2", None, ttl=60) is True  # value None removes
    assert store.items("alerts") == {}
    assert store.get_item("alerts", "fp1") is None


def test_items_expire_one_by_one(store: Store) -> None:
    store.replace("silences", "long", None, "L", ttl=60)
    store.replace("silences", "short", None, "S", ttl=0.15)
    assert store.items("silences") == {"long": "L", "short": "S"}
    time.sleep(0.3)
    assert store.items("silences") == {"long": "L"}
    assert store.get_item("silences", "short") is None
    # an expired item counts as absent for compare-and-set
    assert store.replace("silences", "short", None, "S2", ttl=60) is True


def test_collections_and_prefixes_are_separate(state_env: Dict[str, str]) -> None:
    one = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    other = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"] + "other:")
    try:
        one.replace("alerts", "x", None, "1", ttl=60)
        one.set("k", "v", ttl=60)
        assert one.items("silences") == {}
        assert other.items("alerts") == {}
        assert other.get("k") is None
    finally:
        one.close()
        other.close()


def test_every_redis_key_has_an_expiry(redis_url: str, redis_prefix: str) -> None:
    store = open_store(redis_url, redis_prefix)
    store.set("k", "v", ttl=60)
    store.claim("c", "v", ttl=60)
    store.replace("alerts", "fp", None, "v", ttl=120)
    store.close()
    client = redis_client()
    keys = list(client.scan_iter(match=f"{redis_prefix}*"))
    assert len(keys) == 3
    ttls = {k: client.pttl(k) for k in keys}
    client.close()
    assert all(0 < ms <= 120_000 for ms in ttls.values()), ttls


def test_sqlite_rows_all_expire(tmp_path) -> None:
    import sqlite3

    store = open_store(f"sqlite:///{tmp_path}/s.db", "p:")
    store.set("k", "v", ttl=60)
    store.replace("alerts", "fp", None, "v", ttl=60)
    store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    now = time.time()
    expiries = [row[0] for row in db.execute("SELECT expires FROM kv UNION ALL SELECT expires FROM items")]
    db.close()
    assert len(expiries) == 2 and all(now < e <= now + 61 for e in expiries)


def test_sqlite_url_is_relative_with_three_slashes_and_absolute_with_four(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    rel = open_store("sqlite:///sub/state.db", "p:")
    rel.set("k", "v", ttl=60)
    rel.close()
    assert (tmp_path / "sub" / "state.db").is_file()
    absolute = open_store(f"sqlite:///{tmp_path}/abs.db", "p:")
    absolute.close()
    assert (tmp_path / "abs.db").is_file()


def test_settings_open_the_guarded_store(state_env: Dict[str, str]) -> None:
    from sms_receipt_stats.state.flow import open_state

    settings, issues = load_settings(state_env)
    assert not issues
    guarded = open_state(settings)
    assert isinstance(guarded, GuardedStore)
    assert guarded.ping() is True and guarded.available
    guarded.close()
    assert open_state(load_settings({})[0]) is None


def test_redis_auth_with_a_user_and_password(redis_prefix: str) -> None:
    """A password (and an ACL user) from the URL is sent with AUTH; a wrong one fails the store."""
    client = redis_client()
    user = f"user-{redis_prefix.rstrip(':')}"
    client.execute_command("ACL", "SETUSER", user, "on", ">s3cret-pass", f"~{redis_prefix}*", "+@all")
    try:
        good = open_store(redis_state_url(f"{user}:s3cret-pass"), redis_prefix)
        good.set("k", "v", ttl=60)
        assert good.get("k") == "v"
        good.close()
        bad = GuardedStore(open_store(redis_state_url(f"{user}:wrong"), redis_prefix))
        assert bad.get("k") is None and bad.problem == "get: WRONGPASS"
        bad.close()
    finally:
        client.execute_command("ACL", "DELUSER", user)
        client.close()


def test_the_resp_encoding() -> None:
    from sms_receipt_stats.state.resp import encode

    assert encode(["SET", "k€", 5]) == b"*3\r\n$3\r\nSET\r\n$4\r\nk\xe2\x82\xac\r\n$1\r\n5\r\n"
