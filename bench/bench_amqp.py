"""amqp:// sinks: which client library, how fast a document reaches RabbitMQ, and that faults lose nothing.

    python bench/bench_amqp.py [--only clients|publish|faults] [--docs 1000] [--runs 100] [--seed N]

(1) clients: pika, py-amqp (`amqp` + `vine`) and AMQPStorm (+ `pamqp`), the newest release and the
    newest one that still installs on Python 3.9: wheel bytes, bytes added to a deflated zip, cold
    `import` time (median of 7 fresh processes of this interpreter, minus a bare start), Requires-Python.
    Wheels are downloaded once with pip into ~/.cache/sms-receipt-stats/wheels/amqp/.
(2) publish: N result documents through the sink (`AmqpSink.deliver`: one connection, confirm mode,
    mandatory, persistent per document, as a run sends) to the machine's RabbitMQ (AMQP_TEST_URL):
    documents/s and p50/p99 latency; and, for scale, N confirmed publishes on one connection.
(3) faults: the 100-run test of tests/integration/test_amqp_sink.py (seeded random faults through a
    TCP proxy, a SQLite outbox), printing lost / duplicates.
See bench/README.md "AMQP client" for the figures measured here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT)]

#: (label, pip requirements) of each candidate; the 3.9 rows are what requirements.txt could pin
CANDIDATES: List[Tuple[str, List[str]]] = [
    ("pika 1.4.4", ["pika==1.4.4"]),
    ("amqp 5.4.2 + vine", ["amqp==5.4.2", "vine==5.1.0"]),
    ("amqp 5.3.1 + vine (py3.9)", ["amqp==5.3.1", "vine==5.1.0"]),
    ("amqpstorm 3.1.4 + pamqp 4", ["amqpstorm==3.1.4", "pamqp==4.0.1"]),
    ("amqpstorm 2.11.1 + pamqp 2 (py3.9)", ["amqpstorm==2.11.1", "pamqp==2.3.0"]),
]
IMPORTS = {"pika": "pika", "amqp": "amqp", "amqpstorm": "amqpstorm"}
#: what the docs of each say about a blocking API with publisher confirms, mandatory and TLS
FEATURES = {
    "pika": "BlockingChannel.confirm_delivery + basic_publish(mandatory) raise UnroutableError/NackError; SSLOptions",
    "amqp": "Connection(confirm_publish=True); basic.return via a callback; ssl=",
    "amqpstorm": "channel.confirm_deliveries(); publish(mandatory) returns bool; a background I/O thread; ssl",
}


def cache() -> Path:
    path = Path.home() / ".cache" / "sms-receipt-stats" / "wheels" / "amqp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download(requirements: List[str]) -> List[Path]:
    folder = cache()
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder), *requirements],
                   check=True, capture_output=True)
    found = []
    for req in requirements:
        name, version = req.split("==")
        matches = [p for p in folder.glob("*.whl")
                   if p.name.lower().replace("_", "-").startswith(f"{name.lower()}-{version}-")]
        found.append(matches[0])
    return found


def zip_bytes(wheels: List[Path]) -> Tuple[int, int]:
    """(files' bytes, bytes of a deflated zip holding them without dist-info) = what the package adds."""
    raw = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                for info in zf.infolist():
                    if ".dist-info/" in info.filename or info.filename.endswith("/"):
                        continue
                    data = zf.read(info)
                    raw += len(data)
                    out.writestr(info.filename, data)
    return raw, len(buffer.getvalue())


def requires_python(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        for line in zf.read(meta).decode("utf-8", "replace").splitlines():
            if line.startswith("Requires-Python:"):
                return line.split(":", 1)[1].strip()
    return "(any)"


def cold_import(wheels: List[Path], module: str, repeat: int = 7) -> float:
    """Median ms of `import module` in a fresh process over the unpacked wheels, minus a bare start."""
    with tempfile.TemporaryDirectory() as tmp:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(tmp)

        def timed(code: str) -> float:
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {tmp!r}); {code}"],
                               check=True)
                runs.append(time.perf_counter() - started)
            return statistics.median(runs)

        timed(f"import {module}")  # writes __pycache__ once: later runs are a cold process, warm disk
        return (timed(f"import {module}") - timed("pass")) * 1000


def clients() -> None:
    print(f"(1) AMQP client libraries (import time on Python {sys.version_info[0]}.{sys.version_info[1]})")
    print(f"  {'candidate':38} {'wheels':>9} {'unpacked':>9} {'in zip':>8} {'import':>8}  Requires-Python")
    for label, requirements in CANDIDATES:
        try:
            wheels = download(requirements)
        except (subprocess.CalledProcessError, IndexError, StopIteration):
            print(f"  {label:38} (wheels not downloadable here)")
            continue
        raw, packed = zip_bytes(wheels)
        module = IMPORTS[requirements[0].split("==")[0]]
        ms = cold_import(wheels, module)
        size = sum(w.stat().st_size for w in wheels)
        print(f"  {label:38} {size / 1024:8.0f}K {raw / 1024:8.0f}K {packed / 1024:7.0f}K {ms:6.1f}ms  "
              f"{requires_python(wheels[0])}")
    for name, text in FEATURES.items():
        print(f"  {name}: {text}")


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def publish(docs: int) -> None:
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.documents import AppResult, ResultDocument, WindowDoc
    from sms_receipt_stats.notify.base import DeliveryContext
    from sms_receipt_stats.notify.delivery import build_sinks
    from sms_receipt_stats.stats import Stats, compute_rates
    from support import AmqpScratch

    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401)
    apps = [AppResult(app_id=f"14000068{i:02d}", app_name=f"app {i}", stats=stats, rates=compute_rates(stats),
                      window=WindowDoc(begin="2026112400", end="2026112500", timezone="Asia/Shanghai"))
            for i in range(5)]
    with AmqpScratch(tag="bench") as scratch:
        settings, issues = load_settings({"NOTIFY_URLS": scratch.entry()})
        assert not issues, issues
        (sink,) = build_sinks(settings.sinks)
        ctx = DeliveryContext(session=None, settings=settings)  # type: ignore[arg-type]
        latencies: List[float] = []
        size = 0
        started = time.perf_counter()
        for i in range(docs):
            doc = ResultDocument(kind="report", generated_at="2026-11-25T09:00:00+08:00", results=apps,
                                 message_id=f"msg_bench_{i}")
            message = sink.prepare(doc, settings)
            size = len(message.body)
            t0 = time.perf_counter()
            sink.deliver(message, ctx)
            latencies.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        got = len(scratch.drain())
        print(f"(2) {docs} documents of {size:,} bytes through the sink (a connection each, confirmed): "
              f"{docs / total:.0f} documents/s, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms; the queue got {got}")
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(scratch.url))
        channel = conn.channel()
        channel.confirm_delivery()
        body = message.body
        latencies = []
        started = time.perf_counter()
        for _ in range(docs):
            t0 = time.perf_counter()
            channel.basic_publish(scratch.exchange, scratch.routing_key, body,
                                  pika.BasicProperties(delivery_mode=2, content_type="application/json"),
                                  mandatory=True)
            latencies.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        conn.close()
        got = len(scratch.drain())
        print(f"    for scale, one connection: {docs / total:.0f} confirmed publishes/s, "
              f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms; "
              f"the queue got {got}")


def faults(runs: int, seed: int) -> None:
    spec = importlib.util.spec_from_file_location("amqp_sink_tests", ROOT / "tests/integration/test_amqp_sink.py")
    assert spec is not None and spec.loader is not None
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    from support import AmqpScratch
    from tcp_proxy import TcpProxy

    with AmqpScratch(tag="bench") as scratch, TcpProxy(tests.BROKER) as proxy, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the runs' JSON log lines
            outcome = tests.hundred_runs(scratch, proxy, Path(tmp), seed=seed, runs=runs)
        took = time.perf_counter() - started
    print(f"(3) seed {seed}: {outcome['summary']}; {took:.1f} s")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["clients", "publish", "faults"])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    if args.only in (None, "clients"):
        clients()
    if args.only in (None, "publish"):
        publish(args.docs)
    if args.only in (None, "faults"):
        faults(args.runs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
