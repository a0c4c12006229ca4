"""Every receipt counted exactly once: concurrent senders, duplicates, and a connection cut mid-batch.

Four senders push the emulator's receipts of four hours of one app to the function (the handler
behind a local function URL server), each re-sending about 10 % of its receipts in a later batch,
as a retried push does. The function reaches the machine's Redis through a proxy of this test,
which once cuts a connection right after a counting script reached Redis and before its answer
came back: the batch was counted, the function answered 503, the sender pushed it again, and the
second push must count nothing. At the end the counters must equal the emulator's own statistics
of those hours (what the senders sent, each receipt once), and the senders' tallies.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.emulator import hourly_stats
from sms_receipt_stats.dev.receipt_pusher import PushReport, ReceiptPusher, receipts_for_hour
from sms_receipt_stats.dev.serve import FunctionUrlServer
from sms_receipt_stats.receipts.credential import receipts_token, receipts_url
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.receipts import hour_key
from support import APP_PROD, REDIS_HOST, REDIS_PORT, REDIS_TEST_DB, base_env, fake_deps

SECRET = "exactly-once-Hn4vP8qL2wR6"


class CuttingProxy:
    """A TCP proxy in front of Redis that can lose the answer of one script call.

    `cut_next_script()` arms it: the next client command carrying EVALSHA/EVAL is forwarded to
    Redis, Redis' answer is swallowed, and both sides of that connection are closed, as when a
    network drops between the function and Redis after the command arrived."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._armed = threading.Event()
        self.cuts = 0
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_next_script(self) -> None:
        self._armed.set()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            muted = threading.Event()
            threading.Thread(target=self._up, args=(client, server, muted), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, muted), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, muted: threading.Event) -> None:
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                if (b"EVALSHA" in chunk or b"EVAL" in chunk) and self._armed.is_set():
                    self._armed.clear()
                    muted.set()  # Redis' answer to this command never reaches the client
                    server.sendall(chunk)
                    time.sleep(0.2)  # Redis runs the script meanwhile
                    self.cuts += 1
                    break
                server.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (client, server):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _down(self, server: socket.socket, client: socket.socket, muted: threading.Event) -> None:
        try:
            while True:
                chunk = server.recv(65536)
                if not chunk:
                    break
                if not muted.is_set():
                    client.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self._closing = True
        self.listener.close()


@pytest.fixture()
def proxy() -> Iterator[CuttingProxy]:
    cutter = CuttingProxy(REDIS_HOST, REDIS_PORT)
    yield cutter
    cutter.close()


def busy_hours(count: int) -> List[int]:
    """`count` recent whole hours (UTC epoch seconds) in which the emulator's app has receipts."""
    now = int(datetime.now(timezone.utc).timestamp()) // 3600 * 3600
    found: List[int] = []
    hour = now - 3 * 3600
    while len(found) < count:
        if hourly_stats(APP_PROD, hour)["CallbackCount"] >= 150:
            found.append(hour)
        hour -= 3600
    return found


def test_concurrent_senders_with_duplicates_and_a_cut_connection_count_each_receipt_once(
        proxy: CuttingProxy, redis_prefix: str) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, STATE_PREFIX=redis_prefix,
                   STATE_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_TEST_DB}")
    deps = fake_deps(now=datetime.now(timezone.utc))
    hours = busy_hours(4)
    answers: List[int] = []
    lock = threading.Lock()

    def function(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
        answer = handle(event, context, env=env, deps=deps)
        with lock:
            answers.append(answer["statusCode"])
            if len(answers) == 6:
                proxy.cut_next_script()  # mid-run, while the other senders keep pushing
        return answer

    reports: List[Tuple[int, PushReport]] = []
    with FunctionUrlServer(function) as server:
        url = receipts_url(server.endpoint, SECRET, APP_PROD)

        def send(hour: int) -> None:
            pusher = ReceiptPusher(url, batch_size=50, duplicates=0.1, backoff=0.01)
            report = pusher.push(receipts_for_hour(APP_PROD, hour), seed=str(hour))
            with lock:
                reports.append((hour, report))

        senders = [threading.Thread(target=send, args=(hour,)) for hour in hours]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(120)

    assert proxy.cuts == 1
    assert 503 in answers  # the cut batch was answered 503 ...
    assert all(r.failed == 0 for _, r in reports) and len(reports) == 4  # ... and pushed again until 200
    assert sum(r.delivered for _, r in reports) > sum(r.distinct for _, r in reports)  # duplicates were sent
    store = open_store(f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_TEST_DB}", redis_prefix)
    try:
        got = store.read_counters([hour_key(APP_PROD, h // 3600) for h in hours])
    finally:
        store.close()
    by_hour = dict(reports)
    for hour, counted in zip(hours, got):
        report = by_hour[hour]
        stats = hourly_stats(APP_PROD, hour)
        assert counted["s:S"] == stats["CallbackSuccessCount"], hour
        assert counted["s:F"] == stats["CallbackFailCount"], hour
        assert counted["s:S"] + counted["s:F"] == report.distinct == len(receipts_for_hour(APP_PROD, hour))
        assert sum(v for k, v in counted.items() if k.startswith("n:")) == report.distinct
        assert counted.get("c:F:DB:0141", 0) == stats["BlackListCount"]


def test_the_pusher_retries_what_is_not_answered_ok_and_stops_on_a_refusal() -> None:
    """The offline sender itself: a 503 and a dropped answer are pushed again, a 400 is not."""
    answers = iter([503, 599, 200, 400])
    posted: List[bytes] = []

    def post(url: str, body: bytes, timeout: float) -> int:
        posted.append(body)
        return next(answers)

    pusher = ReceiptPusher("http://127.0.0.1:9/receipts/x", batch_size=2, post=post, sleep=lambda s: None)
    report = pusher.push(receipts_for_hour(APP_PROD, busy_hours(1)[0])[:4])
    assert report.attempts == 4 and report.batches == 2
    assert posted[0] == posted[1] == posted[2]  # the same batch, three times
    assert report.failed == 1 and report.delivered == 2 and report.statuses == {503: 1, 599: 1, 200: 1, 400: 1}


def test_the_emulators_receipts_add_up_to_its_statistics() -> None:
    hour: Optional[int] = busy_hours(1)[0]
    assert hour is not None
    receipts = receipts_for_hour(APP_PROD, hour)
    stats = hourly_stats(APP_PROD, hour)
    assert len(receipts) == stats["CallbackCount"] == len({r["sid"] for r in receipts})
    assert sum(r["report_status"] == "SUCCESS" for r in receipts) == stats["CallbackSuccessCount"]
    assert receipts == receipts_for_hour(APP_PROD, hour)  # deterministic
    assert all(datetime.strptime(r["user_receive_time"], "%Y-%m-%d %H:%M:%S").hour
               == datetime.fromtimestamp(hour + 8 * 3600, timezone.utc).hour for r in receipts)


@pytest.mark.parametrize("shape", ["*0", "+OK", "nil"])
def test_a_counted_batch_answered_with_nonsense_is_503_and_its_retry_counts_nothing(shape: str,
                                                                                   redis_prefix: str) -> None:
    """Redis ran the script, the answer came back garbled (the shared RESP fault proxy): the push is
    refused so Tencent retries, and the retry finds every receipt already counted."""
    from resp_proxy import SHAPES, RespProxy

    hour = busy_hours(1)[0]
    receipts = receipts_for_hour(APP_PROD, hour)[:60]
    first, second = json.dumps(receipts[:30]), json.dumps(receipts[30:])
    with RespProxy() as proxy:
        env = base_env(RECEIPTS_SECRET=SECRET, STATE_URL=proxy.url, STATE_PREFIX=redis_prefix)
        deps = fake_deps(now=datetime.now(timezone.utc))

        def push(body: str) -> int:
            event = {"httpMethod": "POST", "path": f"/receipts/{APP_PROD}", "headers": {}, "body": body,
                     "queryString": {"token": receipts_token(SECRET, APP_PROD)}}
            return int(handle(event, {}, env=env, deps=deps)["statusCode"])

        assert push(first) == 200  # the script is in Redis' cache from here on: EVALSHA runs it
        proxy.inject("wrong", at=len(proxy.names()), count=1, shape=SHAPES[shape], only="EVALSHA")
        assert push(second) == 503
        assert push(second) == 200
    store = open_store(f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_TEST_DB}", redis_prefix)
    try:
        counted = store.read_counters([hour_key(APP_PROD, hour // 3600)])[0]
    finally:
        store.close()
    assert counted.get("s:S", 0) + counted.get("s:F", 0) == 60
