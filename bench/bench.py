"""Cold start, memory, zip size and the rate cap: the figures users feel, printed by one command.

    python bench/bench.py [--quick] [--strict]

(a) cold start: `import handler` vs `import sms_client + pydantic`, fresh processes;
(b) peak RSS of one 20-app timer report; (c) the zip for CPython 3.10 vs the full SDK
wheel, and `import handler` from a read-only copy of it with and without its bytecode;
(d) N app-day queries against the emulator (100 ms latency, 10 requests/s) vs the bound
N / SMS_API_RPS, on a quiet machine and with two busy processes beside it. Every timed
run is a fresh subprocess of this interpreter on this checkout; the emulator runs here.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator, max_in_any_second  # noqa: E402
from sms_receipt_stats.dev.load import busy_processes  # noqa: E402
from sms_receipt_stats.dev.package import (  # noqa: E402
    ZIP_BUDGET,
    PackageError,
    build_zip,
    cache_root,
    parse_python,
    target_interpreter,
)

TARGET_IMPORT_RATIO = 1.25
TARGET_ZIP_BYTES = ZIP_BUDGET  # 10 MB: SCF's 20 MB base64 upload, less a margin (docs/troubleshooting.md)
TARGET_QUERY_RATIO = 1.15
#: share of the API calls the emulator may refuse with RequestLimitExceeded (each is retried)
TARGET_RLE_SHARE = 0.01
TARGET_RSS_MIB = 64.0
RPS = 10
LATENCY = 0.1
MARKER = "BENCH "

HANDLER_IMPORT = "import time; t = time.perf_counter(); import handler; print(time.perf_counter() - t)"
BARE_IMPORT = ("import time; t = time.perf_counter(); from tencentcloud.sms.v20210111 import sms_client; "
               "import pydantic; print(time.perf_counter() - t)")

#: one timer run in a fresh process: import, invoke, report elapsed time and peak RSS
TIMER_RUN = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
event = {"Type": "Timer", "TriggerName": "bench", "Time": "2026-11-25T01:00:00Z", "Message": sys.argv[1]}
context = {"request_id": "bench", "time_limit_in_ms": 300000, "memory_limit_in_mb": 128}
doc = handler.main_handler(event, context)
t2 = time.perf_counter()
results = doc.get("results", [])
ok = sum(1 for r in results if r.get("error") is None)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
from sms_receipt_stats.dev.emulator import window_stats  # the emulator's oracle: what each app must sum to
right = sum(1 for r in results if r.get("stats") is not None
            and r["stats"] == window_stats(r["app_id"], r["window"]["begin"], r["window"]["end"]))
print("BENCH " + json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "ok": ok, "right": right,
                             "results": len(results),
                             "errors": doc.get("errors"), "maxrss_kib": rss}))
"""

HEALTH_RUN = r"""
import time
t0 = time.perf_counter()
import handler
answer = handler.main_handler({"httpMethod": "GET", "path": "/release/health", "headers": {}, "requestContext": {}}, {})
print("BENCH %r" % (time.perf_counter() - t0))
"""

#: cold start as SCF sees it: import handler, then the first timer report (one app, the emulator
#: answering at once), in a fresh interpreter of the target version on a read-only copy of the zip
ZIP_COLD_TIMER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
t = time.perf_counter()
import handler
event = {"Type": "Timer", "TriggerName": "bench", "Message": '{"job": "report", "window": "yesterday"}'}
doc = handler.main_handler(event, {"request_id": "bench", "time_limit_in_ms": 30000})
elapsed = time.perf_counter() - t
assert doc["results"] and doc["results"][0]["error"] is None, doc
print("BENCH %r" % elapsed)
"""

IMPORT_RSS = ("import resource, handler; "
              "print('BENCH %d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def clean_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """This process's environment without any product setting, plus `extra`."""
    prefixes = ("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "ALERT_", "REPORT_", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra or {})
    return env


def run(code: str, *args: str, env: Optional[Dict[str, str]] = None, python: str = sys.executable,
        flags: Tuple[str, ...] = ("-E",), cwd: Path = ROOT, timeout: float = 600) -> str:
    proc = subprocess.run([python, *flags, "-c", code, *args], capture_output=True, text=True, cwd=str(cwd),
                          env=env if env is not None else clean_env(), timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout


def marked(stdout: str) -> str:
    """The value our snippet printed; the handler's own JSON log lines share stdout."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return line[len(MARKER):]
    lines = stdout.strip().splitlines()
    return lines[-1] if lines else ""


def app_env(emulator: Emulator, apps: int, **extra: str) -> Dict[str, str]:
    ids = ",".join(f"14{i:08d}" for i in range(1, apps + 1))
    return clean_env({"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                      "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": ids, **extra})


def timer_run(emulator: Emulator, apps: int, message: Dict[str, Any], **extra: str) -> Dict[str, Any]:
    out = run(TIMER_RUN, json.dumps(message), env=app_env(emulator, apps, **extra))
    return json.loads(marked(out))


def interleaved_medians(commands: List[Tuple[str, Dict[str, Any]]], runs: int) -> List[float]:
    """Median seconds of each snippet over `runs` fresh processes, taken in turns so drift hits all alike."""
    for code, kwargs in commands:  # warm the OS file cache and __pycache__
        run(code, **kwargs)
    samples: List[List[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, (code, kwargs) in enumerate(commands):
            samples[i].append(float(marked(run(code, **kwargs))))
    return [statistics.median(s) for s in samples]


def full_sdk_wheel(version: str) -> Tuple[Optional[Path], str]:
    """The full `tencentcloud-sdk-python` wheel of the same release as our common pin (downloaded once)."""
    cache = cache_root() / "full-sdk"
    wheels = sorted(cache.glob(f"tencentcloud_sdk_python-{version}-*.whl"))
    if wheels:
        return wheels[0], ""
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
                           "--only-binary=:all:", "-d", str(cache), f"tencentcloud-sdk-python=={version}"],
                          capture_output=True, text=True, timeout=900, check=False)
    wheels = sorted(cache.glob(f"tencentcloud_sdk_python-{version}-*.whl"))
    if proc.returncode != 0 or not wheels:
        return None, "not measured: pip download of tencentcloud-sdk-python failed (offline?)"
    return wheels[0], ""


def import_from(tree: Path, snippet: str) -> str:
    return f"import sys; sys.path.insert(0, {str(tree)!r}); " + snippet


@contextlib.contextmanager
def read_only_copies(tree: Path) -> Iterator[Tuple[Path, Path]]:
    """Two read-only copies of the unpacked zip, as SCF mounts it: without its bytecode, and as built."""
    tmp = Path(tempfile.mkdtemp(prefix="sms-receipt-stats-bench-"))
    try:
        sources_only, as_built = tmp / "sources-only", tmp / "as-built"
        shutil.copytree(tree, sources_only, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(tree, as_built)
        subprocess.run(["chmod", "-R", "a-w", str(tmp)], check=True)
        yield sources_only, as_built
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(tmp)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def zip_cold_timer(sources_only: Path, as_built: Path, python: str, env: Dict[str, str],
                   runs: int) -> Tuple[float, float]:
    """Median cold start (import + first timer report) from the read-only copies, taken in turns."""
    samples: Tuple[List[float], List[float]] = ([], [])
    for i in range(runs + 1):  # the first round warms the OS file cache and is dropped
        for k, tree in enumerate((sources_only, as_built)):
            value = float(marked(run(ZIP_COLD_TIMER, str(tree), env=env, python=python, flags=("-I", "-S", "-B"),
                                     cwd=tree.parent)))
            if i:
                samples[k].append(value)
    return statistics.median(samples[0]), statistics.median(samples[1])


class Table:
    def __init__(self) -> None:
        self.rows: List[Tuple[str, str, str, str]] = []
        self.missed: List[str] = []

    def add(self, figure: str, measured: str, target: str = "", ok: Optional[bool] = None) -> None:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        if ok is False:
            self.missed.append(figure.strip())
        self.rows.append((figure, measured, target, verdict))
        print(f"  {figure:<52} {measured:>22}  {target:>9}  {verdict}", flush=True)


def rate_bound_run(table: Table, emulator: Emulator, n_queries: int, loaded: bool) -> None:
    """(d): a daily report over N apps against the emulator's 10/s limit, with its own sliding-second
    count: N stats calls plus the account's (2 SendStatusStatistics per app, 1 SmsPackagesStatistics),
    all under the one SMS_API_RPS budget, so the bound is all calls / SMS_API_RPS."""
    emulator.reset_faults()
    emulator.clear_records()
    emulator.set_latency(LATENCY)
    emulator.set_rate_limit(RPS)
    result = timer_run(emulator, n_queries, {"job": "report", "window": "yesterday"}, SMS_API_RPS=str(RPS))
    calls = [c for c in emulator.calls if c.service == "sms"]
    by_action = {a: sum(1 for c in calls if c.action == a) for a in sorted({c.action for c in calls})}
    bound = len(calls) / RPS
    q_ratio = result["run_s"] / bound
    label = "loaded: 2 busy processes" if loaded else "quiet"
    table.add(f"(d) {n_queries}-app daily report, {LATENCY * 1000:.0f} ms latency, {label}", f"{result['run_s']:.2f} s")
    table.add("    API calls: " + ", ".join(f"{n} {a}" for a, n in by_action.items()), f"{len(calls)}",
              f"{3 * n_queries + 1}", len(calls) == 3 * n_queries + 1)
    table.add(f"    bound calls / SMS_API_RPS ({len(calls)}/{RPS})", f"{bound:.2f} s")
    table.add("    ratio", f"{q_ratio:.3f}", f"<= {TARGET_QUERY_RATIO}", q_ratio <= TARGET_QUERY_RATIO)
    max_rate = max_in_any_second(c.arrived for c in calls)
    table.add("    max SMS requests in any 1 s, all actions (emulator)", f"{max_rate}", f"<= {RPS}", max_rate <= RPS)
    refused = emulator.rejected_by_rate_limit
    share = refused / max(1, len(calls))
    table.add("    RequestLimitExceeded answers / calls", f"{refused} / {len(calls)} ({share:.1%})",
              f"<= {TARGET_RLE_SHARE:.0%}", share <= TARGET_RLE_SHARE)
    table.add("    apps answered / right (emulator's oracle)", f"{result['ok']} / {result['right']}",
              f"{n_queries}", result["ok"] == n_queries and result["right"] == n_queries)
    if not loaded:
        table.add(f"    peak RSS of this {n_queries}-app run", f"{result['maxrss_kib'] / 1024:.1f} MiB")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=50 queries in (d); fewer cold-start runs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument("--python", default="3.10", help="target CPython of the zip in (c)")
    args = parser.parse_args(argv)
    runs = 7 if args.quick else 11
    n_queries = 50 if args.quick else 200

    print(f"sms-receipt-stats bench — CPython {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs{' (quick)' if args.quick else ''}")
    print(f"  {'figure':<52} {'measured':>22}  {'target':>9}")
    table = Table()

    # (a) cold start
    handler_s, bare_s = interleaved_medians([(HANDLER_IMPORT, {}), (BARE_IMPORT, {})], runs)
    ratio = handler_s / bare_s
    table.add(f"(a) import handler (median of {runs})", f"{handler_s * 1000:.1f} ms")
    table.add("    import sms_client + pydantic (bare)", f"{bare_s * 1000:.1f} ms")
    table.add("    ratio", f"{ratio:.2f}", f"<= {TARGET_IMPORT_RATIO}", ratio <= TARGET_IMPORT_RATIO)
    (health_s,) = interleaved_medians([(HEALTH_RUN, {})], max(3, runs // 2))
    table.add("    import + first /health answer", f"{health_s * 1000:.1f} ms")

    with Emulator() as emulator:
        first = [timer_run(emulator, 1, {"job": "report", "window": "yesterday"}) for _ in range(3)]
        cold_timer = statistics.median(r["import_s"] + r["run_s"] for r in first)
        table.add("    import + first 1-app timer report (emulator)", f"{cold_timer * 1000:.1f} ms")

        # (b) peak memory of one 20-app report
        emulator.set_latency(LATENCY)
        emulator.set_rate_limit(RPS)
        report = timer_run(emulator, 20, {"job": "report", "window": "yesterday"})
        rss = report["maxrss_kib"] / 1024
        idle = int(marked(run(IMPORT_RSS))) / 1024
        table.add("(b) peak RSS, 20-app report", f"{rss:.1f} MiB", f"<= {TARGET_RSS_MIB:.0f} MiB",
                  rss <= TARGET_RSS_MIB and report["ok"] == 20)
        table.add("    RSS after import handler (for scale)", f"{idle:.1f} MiB")
        if report["ok"] != 20:
            table.add("    apps answered", f"{report['ok']}/20", "20/20", False)

        # (d) N app-day queries at the rate bound, on a quiet machine and on a loaded one
        for loaded in (False, True):
            with busy_processes(2 if loaded else 0):
                rate_bound_run(table, emulator, n_queries, loaded)

    # (c) zip size
    try:
        built = build_zip(args.python)
    except PackageError as exc:
        table.add(f"(c) zip for CPython {args.python}", "not built", "", None)
        print(f"      {exc}")
        built = None
    if built is not None:
        table.add(f"(c) zip for CPython {built.python} ({built.files} files)", f"{built.size / 1e6:.2f} MB",
                  f"<= {TARGET_ZIP_BYTES / 1e6:.0f} MB", built.size <= TARGET_ZIP_BYTES)
        common = next((w for w in built.wheels if w.startswith("tencentcloud_sdk_python_common-")), "")
        version = common.split("-")[1] if common else ""
        full, note = full_sdk_wheel(version) if version else (None, "no common pin")
        if full is not None:
            size = full.stat().st_size
            table.add(f"    full {full.name.split('-py')[0]} wheel", f"{size / 1e6:.1f} MB")
            table.add("    zip / full SDK wheel", f"{built.size / size:.1%}")
        else:
            table.add("    full tencentcloud-sdk-python wheel", note)
        table.add("    modules with bytecode in the zip", f"{built.bytecode} of {built.modules}")
        print(f"      {built.bytecode_note}")
        target_python = target_interpreter(parse_python(built.python))  # the one that compiled its bytecode
        if target_python and built.tree is not None:
            # SCF's code directory is read-only: no __pycache__ is written, so a module without
            # bytecode in the zip is compiled at every cold start. Both copies are read-only; -B
            # as well, since root writes to read-only directories anyway
            with read_only_copies(built.tree) as (sources_only, as_built), Emulator() as zip_emulator:
                kw_src = {"python": target_python, "flags": ("-I", "-S", "-B"), "cwd": sources_only.parent}
                kw_pyc = {"python": target_python, "flags": ("-I", "-S", "-B"), "cwd": as_built.parent}
                zh, zb, zc = interleaved_medians([(import_from(sources_only, HANDLER_IMPORT), kw_src),
                                                  (import_from(sources_only, BARE_IMPORT), kw_src),
                                                  (import_from(as_built, HANDLER_IMPORT), kw_pyc)],
                                                 max(5, runs // 2))
                timer_env = app_env(zip_emulator, 1)
                cold_src, cold_pyc = zip_cold_timer(sources_only, as_built, target_python, timer_env,
                                                    max(5, runs // 2))
            table.add(f"    from the zip, {built.python}, no bytecode: handler", f"{zh * 1000:.1f} ms")
            table.add("    from the zip, no bytecode: sms_client + pydantic", f"{zb * 1000:.1f} ms")
            table.add("    ratio", f"{zh / zb:.2f}")
            table.add(f"    from the zip, {built.python}, with bytecode: handler", f"{zc * 1000:.1f} ms")
            table.add("    read-only zip: import + first timer report, no bytecode", f"{cold_src * 1000:.1f} ms")
            table.add("    read-only zip: import + first timer report, as built", f"{cold_pyc * 1000:.1f} ms")

    if table.missed:
        print(f"missed: {', '.join(table.missed)}")
    return 1 if args.strict and table.missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
