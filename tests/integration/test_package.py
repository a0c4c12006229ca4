"""The deployment zip, run the way SCF runs it: another CPython, the zip's files only.

Each build is unpacked into a temporary directory and imported by a fresh interpreter of
the target version started with `-I -S` (no site-packages, no user site, no PYTHON*
variables), so anything the zip lacks is an ImportError here rather than in production.
The handler answers a real timer event against the emulator running in this process and
delivers it to a chat robot and CMQ queues (data flow and management API), so the sinks' lazy imports
load from the zip too.
The zip's bytecode (compiled by the target CPython) must be what a read-only copy imports.
Builds skip (not fail) only when the wheels cannot be downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from sms_receipt_stats.dev import samples
from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator
from sms_receipt_stats.dev.package import (
    ZIP_BUDGET,
    PackageError,
    WheelDownloadError,
    add_bytecode,
    build_package,
    build_zip,
    entry_bytes,
    parse_python,
    target_interpreter,
    write_zip,
)
from sms_receipt_stats.dev.receiver import Receiver
from support import AmqpScratch

pytestmark = pytest.mark.integration

APP_ID = "1400006874"
#: UpdateFunctionCode takes the zip base64-encoded, up to 20 MB: 15 MB of zip (docs/troubleshooting.md)
SCF_UPLOAD_ZIP_BYTES = 20_000_000 * 3 // 4
#: the oldest Python SCF offers that we support, and the newest one installed here
VERSIONS = ("3.9", "3.13", "3.12")

RUNNER = r"""
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
leaks = [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
assert not leaks, leaks
import handler
request = json.loads(sys.stdin.read())
answers = [handler.main_handler(event, request["context"]) for event in request["events"]]
origins = {name: getattr(sys.modules[name], "__file__", None) or ""
           for name in ("handler", "sms_receipt_stats", "pydantic", "pydantic_core", "tencentcloud", "requests")}
print("RESULT " + json.dumps({"answers": answers, "origins": origins, "version": list(sys.version_info[:2])}))
"""


def interpreter(version: str) -> Optional[str]:
    """A CPython of exactly `version`, the one the builder compiles the zip's bytecode with."""
    return target_interpreter(parse_python(version))


def newest_available() -> List[str]:
    """3.9 plus the newest of the later versions installed here (building is cheap once cached)."""
    chosen = ["3.9"]
    for version in VERSIONS[1:]:
        if interpreter(version):
            chosen.append(version)
            break
    return chosen


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def build_or_skip(version: str, tmp: Path) -> Path:
    try:
        result = build_zip(version, str(tmp / f"function-py{version.replace('.', '')}.zip"), tree=False)
    except WheelDownloadError as exc:
        pytest.skip(f"wheels for CPython {version} cannot be downloaded: {exc}")
    return result.path


@pytest.fixture(scope="module")
def zip_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The zip for a CPython version, built once per module (tests must not change it)."""
    built: Dict[str, Path] = {}

    def build(version: str) -> Path:
        if version not in built:
            built[version] = build_or_skip(version, tmp_path_factory.mktemp(f"zip{version.replace('.', '')}"))
        return built[version]

    return build


def pyc_of(source: str, version: str) -> str:
    """Where the zip keeps `source`'s bytecode: __pycache__/<mod>.cpython-3XY.pyc beside it."""
    path = PurePosixPath(source)
    return (path.parent / "__pycache__" / f"{path.stem}.cpython-3{version.split('.')[1]}.pyc").as_posix()


@pytest.fixture(scope="module")
def chat() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def run_from_zip(python: str, zip_path: Path, tmp: Path, emulator: Emulator, events: List[Dict[str, Any]],
                 notify_urls: str = "", extra_env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    root = tmp / "var-user"  # SCF unpacks the zip into /var/user
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "TENCENTCLOUD_SECRETID": SECRET_ID,
        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
        "SMS_ENDPOINT": emulator.endpoint,
        "SMS_SDK_APP_IDS": f"{APP_ID}=prod",
        "NOTIFY_URLS": notify_urls,
        **(extra_env or {}),
    }
    request = {"events": events, "context": {"request_id": "package-test", "time_limit_in_ms": 30_000,
                                             "memory_limit_in_mb": 128}}
    proc = subprocess.run([python, "-I", "-S", "-B", "-c", RUNNER, str(root)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=120, cwd=str(tmp), env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    result["root"] = str(root)
    return result


@pytest.mark.parametrize("version", newest_available())
def test_built_zip_answers_a_timer_event_on_that_python(version: str, tmp_path: Path, emulator: Emulator,
                                                        chat: Receiver, zip_for: Callable[[str], Path]) -> None:
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine")
    zip_path = zip_for(version)

    size = zip_path.stat().st_size
    assert size <= ZIP_BUDGET <= 10_000_000, f"{size:,} bytes"
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert "handler.py" in names
    assert "sms_receipt_stats/app.py" in names
    tag = f"cpython-3{version.split('.')[1]}-x86_64-linux-gnu"
    assert any(n.startswith("pydantic_core/_pydantic_core.") and tag in n for n in names), "wrong pydantic_core"
    assert not [n for n in names if n.endswith(".pyi")]
    pycs = [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert pyc_of("handler.py", version) in pycs and pyc_of("sms_receipt_stats/app.py", version) in pycs
    sources = {pyc_of(n, version) for n in names if n.endswith(".py")}
    assert not [n for n in pycs if n not in sources], "bytecode of another Python, or without its source"
    assert not [n for n in names if ".dist-info/" in n]
    assert not [n for n in names if n.startswith("pydantic/v1/")]
    tencent_products = {n.split("/")[1] for n in names if n.startswith("tencentcloud/") and n.count("/") >= 2
                        and n.split("/")[1] != "__pycache__"}
    assert tencent_products == {"common", "sms"}, tencent_products
    assert not [n for n in names if n.startswith("tencentcloud/sms/") and "v20210111" not in n
                and n not in ("tencentcloud/sms/__init__.py", pyc_of("tencentcloud/sms/__init__.py", version))]
    assert not [n for n in names if n.startswith("tencentcloud/") and n.endswith("_async.py")]
    assert "sms_receipt_stats/config.py" in names
    dev_files = [n for n in names if n.startswith(("sms_receipt_stats/dev/", "sms_receipt_stats/__main__"))]
    assert not dev_files, dev_files  # the development tools (cli, emulator, receiver, package…) stay home

    emulator.clear_records()
    timer = samples.timer_event(json.dumps({"job": "report", "window": "yesterday"}))
    health = samples.apigw_event(path="/release/health")
    with CmqDataflowFake(queues=("sms-reports",)) as cmq, AmqpScratch(tag="zip") as broker:
        # render + requests + both cmq sinks + the amqp sink's client (pika), each loaded from the zip
        sinks = (f"wecom+{chat.url}/cgi-bin/webhook/send?key=zip-test,"
                 f"cmq://queue/sms-reports#endpoint={cmq.address},"
                 f"cmq+api://queue/sms-reports#endpoint={emulator.endpoint},{broker.entry()}")
        before = len(chat.received)
        result = run_from_zip(python, zip_path, tmp_path, emulator, [timer, health], sinks)
        published = broker.drain()

    assert result["version"] == [int(part) for part in version.split(".")]
    for module, origin in result["origins"].items():
        assert origin.startswith(result["root"]), f"{module} came from {origin}, not from the zip"
    doc, answer = result["answers"]
    assert doc["kind"] == "report" and doc["trigger"] == "timer"
    assert doc["errors"] == []
    (app,) = doc["results"]
    assert app["app_id"] == APP_ID and app["error"] is None
    assert app["stats"]["RequestSuccessCount"] > 0
    assert app["rates"]["receipt_rate"] is not None
    assert app["request_ids"]
    assert any(call.action == "CallbackStatusStatistics" for call in emulator.calls)
    assert [d["ok"] for d in doc["deliveries"]] == [True, True, True, True], doc["deliveries"]
    assert len(chat.received) == before + 1
    assert emulator.cmq_messages and cmq.messages
    assert len(published) == 1 and json.loads(published[0][2])["kind"] == "report"
    assert answer["statusCode"] == 200


@pytest.mark.parametrize("version", newest_available())
def test_the_zips_redis_store_keeps_state(version: str, tmp_path: Path, emulator: Emulator,
                                           zip_for: Callable[[str], Path], redis_url: str, redis_prefix: str) -> None:
    """The zip's Redis back end (its own RESP client, no third-party package) keeps state: a duplicate replays."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine")
    zip_path = zip_for(version)
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
    assert "sms_receipt_stats/state/resp.py" in names and not [n for n in names if n.startswith("redis/")]
    timer = samples.timer_event(json.dumps({"job": "check", "window": "yesterday"}))
    result = run_from_zip(python, zip_path, tmp_path, emulator, [timer, timer],
                          extra_env={"STATE_URL": redis_url, "STATE_PREFIX": redis_prefix})
    first, again = result["answers"]
    assert first["results"] and "replayed" not in first
    assert not [a for a in first["alerts"] if a["rule"] == "state_unavailable"]
    assert again["replayed"] is True


READ_ONLY_IMPORT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import handler
print("CACHED " + json.dumps({"handler": handler.__cached__,
                              "app": sys.modules["sms_receipt_stats.app"].__cached__}))
"""


@pytest.mark.parametrize("version", newest_available())
def test_bytecode_is_what_a_read_only_copy_imports(version: str, tmp_path: Path,
                                                   zip_for: Callable[[str], Path]) -> None:
    """As on SCF: no __pycache__ can be written, so `import handler` must find all it loads compiled."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine")
    root = tmp_path / "var-user"
    with zipfile.ZipFile(zip_for(version)) as zf:
        zf.extractall(root)
    for source in ("handler.py", "sms_receipt_stats/app.py"):
        header = (root / pyc_of(source, version)).read_bytes()[:16]
        assert int.from_bytes(header[4:8], "little") == 0b01, "not unchecked-hash: the pyc would be stat'ed"
    paths = [root, *root.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        # -B too: root writes into read-only directories anyway
        proc = subprocess.run([python, "-I", "-S", "-B", "-v", "-c", READ_ONLY_IMPORT, str(root)],
                              capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False)
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("CACHED "))
    cached = json.loads(line[len("CACHED "):])
    for key, source in (("handler", "handler.py"), ("app", "sms_receipt_stats/app.py")):
        pyc, py = root / pyc_of(source, version), root / source
        assert cached[key] == str(pyc)
        assert f"# {pyc} matches {py}" in proc.stderr
        assert f"# code object from '{pyc}'" in proc.stderr
    compiled_here = [ln for ln in proc.stderr.splitlines()  # "from '<pyc>'" when loaded, "from <py>" when compiled
                     if ln.startswith("# code object from") and str(root) in ln and not ln.endswith(".pyc'")]
    assert not compiled_here, "import handler compiled these from source:\n" + "\n".join(compiled_here)
    assert sorted([root, *root.rglob("*")]) == sorted(paths), "the import wrote into the code directory"


def test_the_zip_ships_the_error_catalogue_and_a_failure_reads_it(tmp_path: Path, emulator: Emulator,
                                                                  zip_for: Callable[[str], Path]) -> None:
    """The catalogue is data beside its module: the zip must carry it, and a failure must find it."""
    from sms_receipt_stats.catalogue import CATALOGUE

    version = newest_available()[0]
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine")
    zip_path = zip_for(version)
    with zipfile.ZipFile(zip_path) as zf:
        assert "sms_receipt_stats/catalogue.json" in zf.namelist()
    timer = samples.timer_event(json.dumps({"job": "report", "window": "yesterday"}))  # loads the SDK too
    result = run_from_zip(python, zip_path, tmp_path, emulator, [timer, samples.apigw_event(path="/release/nowhere")])
    _, answer = result["answers"]
    error = json.loads(answer["body"])["error"]
    assert answer["statusCode"] == 404 and error["code"] == "NotFound"
    assert error["hint"] == CATALOGUE["NotFound"].hint_en


def test_zip_bytes_depend_on_content_only(tmp_path: Path, zip_for: Callable[[str], Path]) -> None:
    """Same files, any order, any time: same zip (sorted names, fixed timestamps and modes)."""
    built = zip_for("3.9")
    with zipfile.ZipFile(built) as zf:
        entries = {name: zf.read(name) for name in reversed(zf.namelist())}
    again = tmp_path / "again.zip"
    write_zip(entries, again)
    assert again.read_bytes() == built.read_bytes()
    assert len(again.read_bytes()) == 22 + sum(entry_bytes(name, data) for name, data in entries.items())


def test_a_rebuild_gives_the_same_bytes_bytecode_included(tmp_path: Path, zip_for: Callable[[str], Path]) -> None:
    first = zip_for("3.9")
    second = build_or_skip("3.9", tmp_path)
    with zipfile.ZipFile(first) as zf:
        assert [n for n in zf.namelist() if n.endswith(".pyc")], "no bytecode: is CPython 3.9 installed?"
    assert second.read_bytes() == first.read_bytes()


MAGIC = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"


@pytest.mark.parametrize("version", newest_available())
def test_every_module_ships_its_bytecode_for_the_target_python_within_budget(
        version: str, zip_for: Callable[[str], Path]) -> None:
    """SCF's code directory is read-only: a .py without its .pyc compiles at every cold start."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine")
    zip_path = zip_for(version)
    magic = bytes.fromhex(subprocess.run([python, "-I", "-S", "-c", MAGIC], capture_output=True, text=True,
                                         check=True, timeout=60).stdout)
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        sources = sorted(n for n in names if n.endswith(".py"))
        missing = [n for n in sources if pyc_of(n, version) not in names]
        assert not missing, f"{len(missing)} of {len(sources)} modules without bytecode: {missing[:10]}"
        wrong = [n for n in sources if zf.read(pyc_of(n, version))[:4] != magic]
        assert not wrong, f"bytecode of another Python: {wrong[:10]}"
    assert len(sources) > 200  # handler, the package and its dependencies
    assert zip_path.stat().st_size <= ZIP_BUDGET
    assert ZIP_BUDGET <= 10_000_000 and ZIP_BUDGET <= SCF_UPLOAD_ZIP_BYTES * 0.7  # a third kept free


def test_a_zip_over_its_budget_is_an_error_not_a_silent_loss_of_bytecode() -> None:
    if interpreter("3.9") is None:
        pytest.skip("no CPython 3.9 on this machine")
    entries = {"handler.py": b"def main_handler(event, context):\n    return {}\n",
               "big.py": b"DATA = %r\n" % os.urandom(200_000)}
    with pytest.raises(PackageError, match="over its budget"):
        add_bytecode(entries, "39", budget=100_000)
    merged, modules, note = add_bytecode(entries, "39", budget=10_000_000)
    assert modules == 2 and {pyc_of("handler.py", "3.9"), pyc_of("big.py", "3.9")} <= set(merged)
    assert "bytecode of all 2 modules" in note
    assert 22 + sum(entry_bytes(n, d) for n, d in merged.items()) <= 10_000_000


def test_without_the_target_python_the_build_refuses_unless_told_no_bytecode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    code = build_package("3.9", str(tmp_path / "plain.zip"))
    captured = capsys.readouterr()
    if code == 2 and "cannot download the wheels" in captured.err:
        pytest.skip("wheels for CPython 3.9 cannot be downloaded")
    assert code == 2 and "no CPython 3.9 found" in captured.err and "--no-bytecode" in captured.err
    assert "Traceback" not in captured.err and not (tmp_path / "plain.zip").exists()
    assert build_package("3.9", str(tmp_path / "plain.zip"), bytecode=False) == 0
    assert "no bytecode (--no-bytecode)" in capsys.readouterr().out
    with zipfile.ZipFile(tmp_path / "plain.zip") as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pyc") or "__pycache__" in n]


def test_unreachable_index_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(WheelDownloadError):
        build_zip("3.9", str(tmp_path / "offline.zip"), tree=False)
    assert build_package("3.9", str(tmp_path / "offline.zip")) == 2
    err = capsys.readouterr().err
    assert err.startswith("package: cannot download the wheels for CPython 3.9")
    assert "Traceback" not in err
    assert not (tmp_path / "offline.zip").exists()


def test_never_replaces_a_directory_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The unpacked tree goes beside the zip: `--output ~/project.zip` must not delete ~/project."""
    victim = tmp_path / "project"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine", encoding="utf-8")
    assert build_package("3.9", str(tmp_path / "project.zip")) == 2
    assert "is not a package tree" in capsys.readouterr().err
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "project.zip").exists()
    assert build_package("3.9", str(tmp_path / "project.tar")) == 2


@pytest.mark.parametrize("python", ["3.8", "2.7", "three", "3.x"])
def test_unsupported_python_is_refused(python: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(PackageError):
        build_zip(python, tree=False)
    assert build_package(python) == 2
    assert "--python must be 3.9 or newer" in capsys.readouterr().err


def test_the_package_leaves_out_the_dev_tools_by_path_and_keeps_the_rest() -> None:
    """`sms_receipt_stats/dev/` (cli, emulator, receiver, samples, package, serve) and `__main__` stay
    out of the zip; every other file of the package goes in (runtime code never imports `dev`:
    tests/unit/test_import_graph.py)."""
    from sms_receipt_stats.dev.package import project_entries, project_root

    root = project_root()
    entries = project_entries(root)
    package = root / "src" / "sms_receipt_stats"
    on_disk = {p.relative_to(package.parent).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    dev = {n for n in on_disk if n.startswith("sms_receipt_stats/dev/")}
    assert {f"sms_receipt_stats/dev/{m}.py" for m in ("cli", "emulator", "receiver", "samples", "package", "serve",
                                                       "state_cli")} <= dev
    assert not [n for n in entries if n.startswith("sms_receipt_stats/dev/")]
    assert "sms_receipt_stats/__main__.py" not in entries
    runtime = on_disk - dev - {"sms_receipt_stats/__main__.py"}
    assert {n for n in entries if n.endswith(".py")} == runtime | {"handler.py"}


def test_serverless_yml_deploys_the_built_tree_with_valid_triggers() -> None:
    """serverless.yml and the builder agree: runtime <-> wheels, handler, crons, arguments, env names."""
    yaml = pytest.importorskip("yaml")
    from sms_receipt_stats.dev.package import project_root
    from sms_receipt_stats.events import parse_timer_message

    root = project_root()
    doc = yaml.safe_load((root / "serverless.yml").read_text(encoding="utf-8"))
    assert doc["component"] == "scf"
    inputs = doc["inputs"]
    assert inputs["handler"] == "handler.main_handler"
    version = inputs["runtime"].replace("Python", "")
    src = inputs["src"]["src"] if isinstance(inputs["src"], dict) else inputs["src"]
    assert src == f"./dist/sms-receipt-stats-py{version.replace('.', '')}"  # what `package --python` writes
    assert inputs["memorySize"] >= 128 and 30 <= inputs["timeout"] <= 900

    variables = inputs["environment"]["variables"]
    assert not {"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"} & set(variables)
    for secret in ("NOTIFY_URLS", "API_TOKENS", "LINK_SECRET"):
        assert str(variables[secret]).startswith("${env:"), secret
    assert all(isinstance(v, str) for v in variables.values()), "SCF variables are strings: quote numbers"

    timers = [e["timer"]["parameters"] for e in inputs["events"] if "timer" in e]
    assert {json.loads(t["argument"])["job"] for t in timers} == {"report", "check"}
    for timer in timers:
        assert len(timer["cronExpression"].split()) == 7
        parse_timer_message(timer["argument"])  # raises on a Message the handler would refuse
    # lookups come through the function URL (what SCF sends for each trigger: test_serverless_yml.py)
    assert sorted(next(iter(e)) for e in inputs["events"]) == ["http", "timer", "timer"]
