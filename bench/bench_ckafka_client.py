"""How to call CKafka's SendMessage: the product SDK package or the common client, in figures.

    python bench/bench_ckafka_client.py [--wheel PATH] [--runs 9]

Two ways to sign and send `SendMessage` (service `ckafka`, 2019-08-19):
- `tencentcloud-sdk-python-ckafka` (`CkafkaClient.SendMessage` with its request/response models);
- the common client the zip already carries (`tencentcloud.common.common_client.CommonClient`
  through `sms_receipt_stats.sdk.common_client` + `call_action`, as the CMQ sink does).

(1) what each adds to the deployment zip: the product wheel's files that `dev/package.py` would
ship (its `keep_dependency` rules: no `*_async`), with bytecode compiled by the target CPython
3.10 as the zip carries it, sized as `write_zip` writes them (`entry_bytes`); the common client is
in the zip already (`tencentcloud/common/`), so it adds nothing.
(2) what each adds to the cold start of a delivery: fresh processes that first import what every
timer run has loaded by then (the SMS client), then time the import of the client that sends,
with bytecode present (as in the zip) and without it (an empty pycache each run: a zip built
with `--no-bytecode`). Median of `--runs` processes each. The product wheel is pip-downloaded once
(no dependencies) unless `--wheel` names it. Figures are printed, never asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.dev.package import (  # noqa: E402
    PackageError,
    compile_bytecode,
    entry_bytes,
    target_interpreter,
)

PIN = "tencentcloud-sdk-python-ckafka==3.1.195"  # the release of the pinned tencentcloud-sdk-python-common
TARGET = "310"

#: loaded before the timed import: what a timer run has imported when it delivers
PRELUDE = "from tencentcloud.sms.v20210111 import sms_client, models as _sms_models"
COMMON = "from tencentcloud.common.common_client import CommonClient"
PRODUCT = "from tencentcloud.ckafka.v20190819 import ckafka_client, models"
TIMED = "import time\n{prelude}\nt = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - t)"


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", PIN, "-d", str(dest)], check=True)
    [wheel] = dest.glob("tencentcloud_sdk_python_ckafka-*.whl")
    return wheel


def zip_cost(wheel: Path) -> Dict[str, object]:
    """Bytes the product wheel's shipped files (and their 3.10 bytecode) add to the zip."""
    with zipfile.ZipFile(wheel) as zf:  # dev/package.py's rules for the SDK's files, with ckafka kept
        entries = {name: zf.read(name) for name in zf.namelist()
                   if name.startswith("tencentcloud/ckafka/") and name.endswith(".py")
                   and not PurePosixPath(name).stem.endswith("_async")}
    sources = sorted(n for n in entries if n.endswith(".py"))
    row: Dict[str, object] = {"files": len(entries), "source_bytes": sum(len(entries[n]) for n in sources),
                              "zip_bytes_sources": sum(entry_bytes(n, d) for n, d in entries.items())}
    python = target_interpreter(TARGET)
    if python is None:
        row["zip_bytes_with_bytecode"] = None
        return row
    with tempfile.TemporaryDirectory(prefix="bench-ckafka-") as tmp:
        tree = Path(tmp) / "tree"
        for name in sources:
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(entries[name])
        written, version = compile_bytecode(python, tree, sources)
        pycs = {pyc: (tree / pyc).read_bytes() for pyc in written.values()}
    row["zip_bytes_with_bytecode"] = row["zip_bytes_sources"] + sum(entry_bytes(n, d) for n, d in pycs.items())
    row["bytecode_by"] = version
    return row


def import_seconds(stmt: str, path: List[str], runs: int, bytecode: bool) -> float:
    """Median seconds of `stmt` after PRELUDE; without bytecode each run gets an empty pycache
    (PYTHONPYCACHEPREFIX), so every module it imports is compiled, as from a zip without bytecode."""
    env = {"PYTHONPATH": ":".join(path), "PATH": "/usr/bin:/bin"}
    if bytecode:  # one run that writes the bytecode the timed runs read
        subprocess.run([sys.executable, "-c", f"{PRELUDE}\n{stmt}"], check=True, env=env)
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
            run_env = env if bytecode else {**env, "PYTHONPYCACHEPREFIX": cache}
            out = subprocess.run([sys.executable, "-c", TIMED.format(prelude=PRELUDE, stmt=stmt)], check=True,
                                 capture_output=True, text=True, env=run_env)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help="the tencentcloud-sdk-python-ckafka wheel (default: pip download it)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ckafka-wheel-") as tmp:
        wheel = Path(args.wheel) if args.wheel else fetch_wheel(Path(tmp))
        try:
            cost = zip_cost(wheel)
        except PackageError as exc:
            print(f"zip cost: not measured ({exc})")
            cost = {}
        # `tencentcloud` is a regular package: one directory with common, sms and ckafka side by side
        import tencentcloud

        site = Path(tmp) / "site"
        shutil.copytree(Path(tencentcloud.__file__).parent, site / "tencentcloud",
                        ignore=shutil.ignore_patterns("__pycache__"))
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site, [n for n in zf.namelist() if n.startswith("tencentcloud/ckafka/")])
        base = [p for p in sys.path if p.endswith("site-packages")]
        path = [str(site), *base]
        print(f"{wheel.name}: {cost.get('files')} files shipped, {cost.get('source_bytes'):,} bytes of source")
        print(f"  adds to the zip: {cost.get('zip_bytes_sources'):,} bytes (sources only), "
              f"{cost.get('zip_bytes_with_bytecode') or 0:,} bytes with bytecode ({cost.get('bytecode_by', 'n/a')})")
        print("  common client: 0 bytes (tencentcloud/common/ is in the zip already)")
        for bytecode in (True, False):
            label = "with bytecode" if bytecode else "no bytecode"
            common = import_seconds(COMMON, path, args.runs, bytecode)
            product = import_seconds(PRODUCT, path, args.runs, bytecode)
            print(f"  import after the SMS client, {label}: common client {common * 1000:.1f} ms, "
                  f"ckafka package {product * 1000:.1f} ms (median of {args.runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
