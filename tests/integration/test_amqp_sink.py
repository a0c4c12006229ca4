"""amqp:// sinks against the machine's real RabbitMQ (AMQP_TEST_URL, guest/guest on 127.0.0.1:5672).

Each test declares its own exchange and queue (unique names, deleted afterwards: `AmqpScratch`);
faults are injected by a TCP proxy in front of the broker (`tests/tcp_proxy.py`), never on the
shared broker itself. A consumer reads what arrived, so every test asserts what the broker holds.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import urlsplit

import pytest

import handler
from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.notify.delivery import deliver_all
from support import AMQP_TEST_URL, HEALTHY_STATS, NOW, AmqpScratch, FakeFetcher, base_env, read_event
from tcp_proxy import DOWN, UP, Fault, TcpProxy

pytestmark = pytest.mark.integration

BROKER = (urlsplit(AMQP_TEST_URL).hostname or "127.0.0.1", urlsplit(AMQP_TEST_URL).port or 5672)
#: an invocation short enough that a stalled broker costs about a second of each run
SHORT = {"request_id": "amqp-test", "time_limit_in_ms": 2600}
CONTEXT = {"request_id": "amqp-test", "time_limit_in_ms": 30_000}


class SkippingClock:
    """The real monotonic clock, except that a sleep (the stats API's rate cap, the waits between
    delivery attempts) returns at once and moves this clock on instead: a run keeps its real time
    budget for the broker, without waiting on a fake API."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)


def deps(now: Any = NOW) -> JobDeps:
    """A healthy fake stats API, the real sinks (retries, deadline) on a `SkippingClock`."""
    fetcher = FakeFetcher(HEALTHY_STATS)
    clock = SkippingClock()

    def deliver(doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        return deliver_all(doc, settings, clock=clock.monotonic, sleep=clock.sleep, deadline=deadline)

    return JobDeps(fetcher_factory=lambda settings: fetcher, now=lambda: now, monotonic=clock.monotonic,
                   sleep=clock.sleep, deliver=deliver)


def report(hour: int) -> Dict[str, Any]:
    """A report over one hour of November 2026: a distinct run, and notice, per `hour`."""
    begin = NOW.replace(day=1, hour=0) + timedelta(hours=hour)
    window = {"begin": (begin + timedelta(hours=8)).strftime("%Y%m%d%H"),
              "end": (begin + timedelta(hours=9)).strftime("%Y%m%d%H")}
    return dict(read_event("timer_default"), Message=json.dumps({"job": "report", "window": window}))


@pytest.fixture()
def scratch() -> Iterator[AmqpScratch]:
    with AmqpScratch() as made:
        yield made


@pytest.fixture()
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(BROKER) as running:
        yield running


def run(entry: str, event: Optional[Dict[str, Any]] = None, context: Dict[str, Any] = CONTEXT,
        now: Any = NOW, **env: str) -> Dict[str, Any]:
    env = {"SMS_SDK_APP_IDS": "1400006874=prod", **env}
    return handle(event or read_event("timer_default"), context, env=base_env(NOTIFY_URLS=entry, **env),
                  deps=deps(now))


# -- what arrives -------------------------------------------------------------------------------


def test_main_handler_publishes_the_result_document_with_its_id_and_type(
        scratch: AmqpScratch, emulator: Any, env: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The SCF entry point, the real SDK against the emulator, the real broker: one persistent message."""
    for key, value in dict(env, NOTIFY_URLS=scratch.entry()).items():
        monkeypatch.setenv(key, value)
    result = handler.main_handler(read_event("timer_default"), CONTEXT)
    assert result["deliveries"] == [{"sink": "amqp", "ok": True, "attempts": 1, "error": None}]
    ((method, properties, body),) = scratch.drain()
    doc = json.loads(body)
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert properties.message_id == doc["message_id"] and doc["message_id"].startswith("msg_")
    assert method.routing_key == scratch.routing_key and method.exchange == scratch.exchange
    assert doc["schema"] == "sms-receipt-stats/v1" and doc["kind"] == "report"
    assert [r["app_id"] for r in doc["results"]] == [r["app_id"] for r in result["results"]]
    assert "deliveries" in doc  # the document as sent: written before its own delivery outcome


def test_the_default_exchange_delivers_to_the_queue_named_by_the_routing_key(scratch: AmqpScratch) -> None:
    result = run(scratch.entry(exchange="", routing_key=scratch.queue))
    assert result["deliveries"][0]["ok"] is True
    assert len(scratch.drain()) == 1


# -- failures the broker answers --------------------------------------------------------------


def test_an_unroutable_message_is_a_failed_delivery_named_in_the_result(scratch: AmqpScratch) -> None:
    result = run(scratch.entry(routing_key="nobody.listens"))
    (delivery,) = result["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 1  # a retry in this run cannot route it
    assert delivery["error"].startswith("amqp#1(127.0.0.1): unroutable")
    assert "nobody.listens" in delivery["error"]
    assert scratch.drain() == []


def test_bad_credentials_fail_without_showing_user_or_password(scratch: AmqpScratch) -> None:
    password = "wrong-pass-5d8e1f2a"
    result = run(scratch.entry(userinfo=f"sms-robot-user:{password}"))
    (delivery,) = result["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 1
    assert "refused the login" in delivery["error"]
    text = json.dumps(result)
    assert password not in text and "sms-robot-user" not in text and "amqp://" not in text


def test_a_missing_exchange_is_named_and_not_retried(scratch: AmqpScratch) -> None:
    result = run(scratch.entry(exchange=scratch.exchange + "-gone"))
    (delivery,) = result["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 1
    assert f"exchange '{scratch.exchange}-gone' does not exist" in delivery["error"]


def test_a_vhost_the_broker_does_not_have_is_named(scratch: AmqpScratch) -> None:
    entry = scratch.entry().replace("/%2F#", "/no-such-vhost-7c1#")
    (delivery,) = run(entry)["deliveries"]
    assert delivery["ok"] is False and "refused the vhost" in delivery["error"]


# -- failures of the network (the proxy) -------------------------------------------------------


def test_a_refused_connection_is_retried_then_reported(scratch: AmqpScratch, proxy: TcpProxy) -> None:
    proxy.fault = Fault("reset")
    (delivery,) = run(scratch.entry(port=proxy.port))["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 3 and proxy.accepted == 3
    assert "before the AMQP handshake" in delivery["error"] or "cannot connect" in delivery["error"]


def test_a_connection_lost_before_the_confirm_is_retried_and_the_retry_delivers(
        scratch: AmqpScratch, proxy: TcpProxy) -> None:
    assert run(scratch.entry(port=proxy.port))["deliveries"][0]["ok"]  # a clean session: its byte counts
    clean_down = proxy.counts[DOWN]
    scratch.drain()
    faults = iter([Fault("drop", DOWN, clean_down - 40), Fault()])  # the broker's ack (and close-ok) cut off
    proxy.fault = lambda: next(faults)
    (delivery,) = run(scratch.entry(port=proxy.port), report(1))["deliveries"]
    assert delivery == {"sink": "amqp", "ok": True, "attempts": 2, "error": None}
    bodies = [json.loads(body) for _, _, body in scratch.drain()]
    # the broker got the first copy too (its confirm was lost): one id, twice, for the consumer to drop
    assert len(bodies) == 2 and bodies[0]["message_id"] == bodies[1]["message_id"]


def test_a_stalled_broker_costs_the_attempt_time_not_the_run(scratch: AmqpScratch, proxy: TcpProxy) -> None:
    proxy.fault = Fault("stall", DOWN, 400)  # after the handshake began, nothing more comes back
    result = run(scratch.entry(port=proxy.port), context=SHORT)
    (delivery,) = result["deliveries"]
    # our own bound (what is left of the invocation), not pika's heartbeat a minute later
    assert delivery["ok"] is False and "timed out" in delivery["error"]
    time.sleep(0.2)
    assert proxy.open_links() == 0  # the client dropped its stalled connection


# -- nothing lost: the outbox and a consumer that drops duplicates -----------------------------


def test_a_notice_the_broker_did_not_confirm_is_kept_and_sent_by_the_next_run(
        scratch: AmqpScratch, proxy: TcpProxy, tmp_path: Path) -> None:
    state = {"STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    proxy.fault = Fault("reset")
    first = run(scratch.entry(port=proxy.port), report(1), **state)
    assert first["deliveries"][0]["ok"] is False
    assert [p["message_id"] for p in first["pending"]] == [first["message_id"]]
    proxy.fault = Fault()
    second = run(scratch.entry(port=proxy.port), report(2), now=NOW + timedelta(minutes=5), **state)
    assert [d["ok"] for d in second["deliveries"]] == [True, True] and second["pending"] == []
    received = [json.loads(body)["message_id"] for _, _, body in scratch.drain()]
    assert received == [first["message_id"], second["message_id"]]  # oldest first, with its own id


def random_fault(rng: random.Random, clean: Dict[str, int]) -> Fault:
    """No fault two times in three; else a kind and a moment (a byte offset of a clean session) at random."""
    if rng.random() < 0.65:
        return Fault()
    mode = rng.choice(["refuse", "reset", "drop", "drop", "stall"])
    direction = rng.choice([UP, DOWN])
    return Fault(mode, direction, rng.randrange(0, clean[direction] + 1))


def test_a_hundred_runs_with_random_faults_lose_nothing(
        scratch: AmqpScratch, proxy: TcpProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every run's notice reaches the queue exactly once after dropping duplicates by message_id."""
    outcome = hundred_runs(scratch, proxy, tmp_path, seed=20261207, runs=100)
    assert outcome["lost"] == [] and outcome["unknown"] == []
    assert outcome["faulted_connections"] > 20  # the faults did happen
    with capsys.disabled():
        print(f"\n  amqp 100 runs: {outcome['summary']}")


def hundred_runs(scratch: AmqpScratch, proxy: TcpProxy, tmp_path: Path, *, seed: int, runs: int) -> Dict[str, Any]:
    """`runs` report runs through `app.handle` with a SQLite outbox, each connection through the proxy
    with a seeded random fault; then clean runs until nothing is pending; then a consumer reads the
    queue. Shared with bench/bench_amqp.py, which prints the same figures."""
    rng = random.Random(seed)
    state = {"STATE_URL": f"sqlite:///{tmp_path / 'outbox.db'}"}
    entry = scratch.entry(port=proxy.port)
    first = run(entry, report(0), **state)  # a clean session: the byte counts
    assert first["deliveries"][0]["ok"]
    clean = dict(proxy.counts)
    proxy.faults.clear()
    proxy.fault = lambda: random_fault(rng, clean)
    expected: List[str] = [first["message_id"]]
    failed_runs = 0
    for i in range(1, runs + 1):
        result = run(entry, report(i), context=SHORT, now=NOW + timedelta(minutes=5 * i), **state)
        expected.append(result["message_id"])
        failed_runs += not all(d["ok"] for d in result["deliveries"])
    faults = Counter(f.mode for f in proxy.faults)
    proxy.fault = Fault()
    flushes = 0
    for j in range(1, 6):
        result = run(entry, report(runs + j), now=NOW + timedelta(minutes=5 * (runs + j)), **state)
        expected.append(result["message_id"])
        flushes += 1
        if not result.get("pending"):
            break
    received = [json.loads(body)["message_id"] for _, _, body in scratch.drain()]
    counts = Counter(received)
    lost = [m for m in expected if m not in counts]
    unknown = [m for m in counts if m not in set(expected) and m is not None]
    duplicates = sum(n - 1 for n in counts.values())
    faulted = sum(n for mode, n in faults.items() if mode != "pass")
    summary = (f"{runs} runs + {flushes} clean, {len(proxy.faults)} connections ({faulted} faulted: "
               f"{dict(sorted(faults.items()))}), {failed_runs} runs with a failed delivery; consumer got "
               f"{len(received)} messages, {len(counts)} distinct ids of {len(expected)} expected: "
               f"{len(lost)} lost, {duplicates} raw duplicates (dropped by message_id)")
    return {"lost": lost, "unknown": unknown, "duplicates": duplicates, "faulted_connections": faulted,
            "summary": summary, "received": len(received), "expected": len(expected)}



# -- the consumer example ------------------------------------------------------------------------


def result_document_schema(tmp_path: Path) -> Dict[str, Any]:
    """docs/schema/result-document.v1.json, or the same generated from the model where it is not checked in."""
    checked_in = Path(__file__).resolve().parents[2] / "docs" / "schema" / "result-document.v1.json"
    if checked_in.exists():
        return json.loads(checked_in.read_text(encoding="utf-8"))
    return ResultDocument.model_json_schema(mode="validation", by_alias=True)


def load_example() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "rabbitmq_consumer.py"
    spec = importlib.util.spec_from_file_location("rabbitmq_consumer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_consumer_example_validates_drops_duplicates_and_acks(
        scratch: AmqpScratch, proxy: TcpProxy, tmp_path: Path) -> None:
    state = {"STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    entry = scratch.entry(port=proxy.port)
    sent = [run(entry, report(1), **state)["message_id"]]
    cut = proxy.counts[DOWN] - 40  # the confirm cut off once: the broker holds a copy the sink will resend
    faults = iter([Fault("drop", DOWN, cut)])
    proxy.fault = lambda: next(faults, Fault())
    sent.append(run(entry, report(2), now=NOW + timedelta(minutes=5), **state)["message_id"])
    scratch.channel.basic_publish(scratch.exchange, scratch.routing_key, b'{"schema": "not a document"}')

    example = load_example()
    handled: List[Dict[str, Any]] = []
    consumer = example.Consumer(result_document_schema(tmp_path), handled.append)
    example.consume(AMQP_TEST_URL, scratch.queue, consumer, idle=0.5)

    assert consumer.counts == {"processed": 2, "duplicates": 1, "rejected": 1}
    assert [doc["message_id"] for doc in handled] == sent
    assert scratch.drain() == []  # everything acked (or rejected), nothing left


# -- doctor --------------------------------------------------------------------------------------


def test_doctor_checks_login_vhost_and_exchange_without_sending(scratch: AmqpScratch) -> None:
    entries = ",".join([scratch.entry(), scratch.entry(userinfo="guest:not-the-password-9f1"),
                        scratch.entry(exchange=scratch.exchange + "-gone")])
    event = dict(read_event("timer_default"), Message=json.dumps({"job": "doctor"}))
    doc = run(entries, event)
    sinks = {c["name"]: c for c in doc["checks"] if c["name"].startswith("sink amqp")}
    assert [c["status"] for c in sinks.values()] == ["pass", "fail", "fail"]
    assert "exists" in sinks["sink amqp#1(127.0.0.1)"]["detail"]
    assert "refused the login" in sinks["sink amqp#2(127.0.0.1)"]["detail"]
    assert "does not exist" in sinks["sink amqp#3(127.0.0.1)"]["detail"]
    assert "not-the-password-9f1" not in json.dumps(doc)
    # the checks published nothing: the one message is the doctor job's own result, sent as any job's
    (only,) = [json.loads(body) for _, _, body in scratch.drain()]
    assert only["kind"] == doc["kind"] and only["checks"] == doc["checks"]


# -- amqps:// --------------------------------------------------------------------------------------


@pytest.fixture()
def tls_broker(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    """The broker behind a TLS-terminating proxy whose self-signed certificate names 127.0.0.1."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = tmp_path / "broker.pem", tmp_path / "broker.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    with TcpProxy(BROKER, tls=context) as running:
        yield {"port": running.port, "ca": str(cert)}


def test_amqps_publishes_over_tls_to_a_broker_whose_certificate_is_trusted(
        scratch: AmqpScratch, tls_broker: Dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", tls_broker["ca"])  # the system CA store, as OpenSSL reads it
    (delivery,) = run(scratch.entry(port=tls_broker["port"], scheme="amqps"))["deliveries"]
    assert delivery == {"sink": "amqp", "ok": True, "attempts": 1, "error": None}
    assert len(scratch.drain()) == 1


def test_amqps_refuses_a_certificate_it_cannot_verify(scratch: AmqpScratch, tls_broker: Dict[str, Any],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-cas.pem"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    (delivery,) = run(scratch.entry(port=tls_broker["port"], scheme="amqps"))["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 1
    assert "TLS: the broker's certificate was not accepted" in delivery["error"]
    assert scratch.drain() == []
