"""`sms-receipt-stats package`: the SCF deployment zip (README, *Deploying*).

The zip holds `handler.py`, the `sms_receipt_stats` package and the pinned runtime
dependencies of `requirements.txt`, unpacked from manylinux wheels downloaded *for the
target CPython*: `pydantic_core` is compiled, so the wheel installed on the build host is
wrong for any other Python version. Wheels are cached under
`~/.cache/sms-receipt-stats/wheels/<python>/`, so a rebuild needs no network.

What the function never loads is left out, because every byte is fetched and unpacked
again at each cold start: `*.dist-info` (licence files are kept under
`third-party-licenses/`), the wheels' bytecode, tests, typing stubs, the SDK's async modules
(they need httpx, which is not shipped), pydantic's `v1` compatibility package (only an
explicit `import pydantic.v1` loads it), the SMS API's 2019-07-11 version and the
development tools of this package (`sms_receipt_stats/dev/`: CLI, emulator, chat receiver,
this builder) with the `__main__` that starts them.
`tzdata` is kept whole (0.24 MB compressed): SCF images are not documented to ship
`/usr/share/zoneinfo`, and any IANA zone is a valid `REPORT_TIMEZONE`.

SCF's code directory is read-only, so Python cannot write `__pycache__` there and would
compile every module it imports at every cold start. The zip therefore carries bytecode for
**every** module it ships: each `.py` is compiled by the *target* CPython (pyenv's 3.X, or
python3.X on PATH) into `__pycache__/<mod>.cpython-3XY.pyc` with `unchecked-hash`
invalidation (SCF unpacks files with arbitrary mtimes; a deployment never changes, so no stat
or hash check is needed). Without that interpreter `package` refuses, unless told
`--no-bytecode` (then every cold start compiles what it imports, and the output says so).

The size budget, ZIP_BUDGET, comes from SCF's own limits (docs/troubleshooting.md, *Package
size*): `UpdateFunctionCode` takes the zip base64-encoded in `ZipFile`, "up to 20 MB", so at most
15 MB of zip; the budget keeps a third of that free, 10 MB. A zip over it is an error, not a
silent loss of bytecode.

The zip is deterministic (sorted entries, fixed timestamps and modes, deflate level 9,
bytecode compiled with a fixed hash seed and zip-relative file names): the same pins,
sources and target interpreter give the same bytes. The unpacked tree is written beside it,
because that is what `serverless.yml` hands to the SCF component (`src`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterable, List, Optional, Tuple

DEFAULT_PYTHON = "3.10"
#: SCF runs x86_64 Linux; its images have glibc >= 2.17, so manylinux2014 wheels load
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64")
#: the pure-python wheel is preferred: requests only needs charset detection for
#: responses without a charset, and the compiled build is larger and tied to one Python
PURE_ONLY = frozenset({"charset-normalizer"})
#: what of this package serves local development only, by path; runtime modules never import it
DEV_PATHS = ("sms_receipt_stats/dev/", "sms_receipt_stats/__main__.py")
#: the only tencentcloud products the function calls (SMS 2021-01-11; CMQ goes through common's CommonClient)
TENCENTCLOUD_KEEP = ("tencentcloud/__init__.py", "tencentcloud/common/", "tencentcloud/sms/__init__.py",
                     "tencentcloud/sms/v20210111/")
LICENSES_DIR = "third-party-licenses"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PIP_TIMEOUT = 600
PROBE_TIMEOUT = 300
#: UpdateFunctionCode's ZipFile is base64 "up to 20 MB" (https://cloud.tencent.com/document/api/583/18581),
#: i.e. 15 MB of zip; a third of that is kept free (docs/troubleshooting.md, *Package size*)
ZIP_BUDGET = 10_000_000

#: run by the target CPython (-S, PYTHONHASHSEED=0 so that set constants marshal alike):
#: compile the given sources of the tree into their __pycache__, unchecked-hash
COMPILE = r"""
import importlib.util, json, os, platform, py_compile, sys
root = sys.argv[1]
written = []
for rel in json.loads(sys.stdin.read()):
    source = os.path.join(root, *rel.split("/"))
    cfile = importlib.util.cache_from_source(source, optimization="")
    py_compile.compile(source, cfile=cfile, dfile=rel, doraise=True, optimize=0,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    written.append(os.path.relpath(cfile, root).replace(os.sep, "/"))
print("COMPILED " + json.dumps({"version": platform.python_version(), "written": written}))
"""

_LICENSE_NAME = re.compile(r"^(licen[cs]e|copying|notice|authors)", re.IGNORECASE)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_PYTHON = re.compile(r"^3\.([0-9]{1,2})$")


class PackageError(Exception):
    """The zip cannot be built; the message says why and what to do."""


class WheelDownloadError(PackageError):
    """pip could not fetch the wheels (no network, no index, or no wheel for that Python)."""


@dataclass
class BuildResult:
    path: Path
    size: int
    files: int
    python: str
    wheels: List[str] = field(default_factory=list)
    tree: Optional[Path] = None
    #: .pyc files in the zip, of how many modules, and the interpreter that compiled them (or why none)
    bytecode: int = 0
    modules: int = 0
    bytecode_note: str = ""


def cache_root() -> Path:
    """Where downloaded wheels are kept: `$XDG_CACHE_HOME` (else ~/.cache)/sms-receipt-stats/wheels."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sms-receipt-stats" / "wheels"


def normalize(name: str) -> str:
    """PEP 503 name: what wheel file names and pins are compared by."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_root() -> Path:
    """The checkout this module lives in (src/sms_receipt_stats/dev/package.py)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "handler.py").is_file() or not (root / "requirements.txt").is_file():
        raise PackageError(f"no checkout found at {root}: `package` builds from a source tree "
                           "with handler.py and requirements.txt")
    return root


def read_pins(path: Path) -> List[Tuple[str, str]]:
    """`name==version` lines, in file order; anything looser is refused (a zip must be reproducible)."""
    pins: List[Tuple[str, str]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise PackageError(f"{path.name}:{number}: expected an exact pin `name==version`, got {line!r}")
        pins.append((normalize(match.group(1)), match.group(2)))
    if not pins:
        raise PackageError(f"{path.name} pins nothing")
    return pins


def parse_python(python: str) -> str:
    """'3.10' -> '310'; SCF's Python runtimes from 3.9 up."""
    match = _PYTHON.match(python.strip())
    if not match or int(match.group(1)) < 9:
        raise PackageError(f"--python must be 3.9 or newer, like 3.10 (got {python!r})")
    return "3" + match.group(1)


def _wheel_tags(filename: str) -> Tuple[str, str, List[str], List[str], List[str]]:
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(filename)
    return (normalize(parts[0]), parts[1], parts[-3].split("."), parts[-2].split("."), parts[-1].split("."))


def wheel_fits(filename: str, xy: str, pure: bool = False) -> bool:
    """Does this wheel load on CPython 3.<xy> on SCF's x86_64 Linux?"""
    try:
        _, _, pys, abis, plats = _wheel_tags(filename)
    except ValueError:
        return False
    if pure:
        return "any" in plats and "none" in abis
    minor = int(xy[1:])
    stable = "abi3" in abis and any(p.startswith("cp3") and p[3:].isdigit() and int(p[3:]) <= minor for p in pys)
    py_ok = stable or any(p in ("py3", f"cp{xy}") for p in pys)
    abi_ok = stable or any(a in ("none", f"cp{xy}") for a in abis)
    plat_ok = "any" in plats or any(p in PLATFORMS for p in plats)
    return py_ok and abi_ok and plat_ok


def find_cached(cache: Path, pins: Iterable[Tuple[str, str]], xy: str) -> Tuple[Dict[str, Path], List[Tuple[str, str]]]:
    """Wheels already in the cache for each pin, and the pins still missing."""
    found: Dict[str, Path] = {}
    missing: List[Tuple[str, str]] = []
    files = sorted(cache.glob("*.whl")) if cache.is_dir() else []
    for name, version in pins:
        for wheel in files:
            try:
                wname, wversion, *_ = _wheel_tags(wheel.name)
            except ValueError:
                continue
            if wname == name and wversion == version and wheel_fits(wheel.name, xy, name in PURE_ONLY):
                found[name] = wheel
                break
        else:
            missing.append((name, version))
    return found, missing


def _pip_download(pins: List[Tuple[str, str]], dest: Path, xy: str, pure: bool) -> None:
    platforms = ("any",) if pure else PLATFORMS
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
           "--only-binary=:all:", "--python-version", f"3.{xy[1:]}", "--implementation", "cp",
           "--abi", f"cp{xy}", "-d", str(dest)]
    for platform in platforms:
        cmd += ["--platform", platform]
    cmd += [f"{name}=={version}" for name, version in pins]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WheelDownloadError(f"pip download did not finish: {exc.__class__.__name__}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        said = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "no output")
        raise WheelDownloadError(f"cannot download the wheels for CPython 3.{xy[1:]} "
                                 f"(is the package index reachable?): {said}")


def fetch_wheels(pins: List[Tuple[str, str]], xy: str, cache: Path) -> List[Path]:
    """One wheel per pin, in pin order: from the cache, downloading only what is missing."""
    found, missing = find_cached(cache, pins, xy)
    if missing:
        cache.mkdir(parents=True, exist_ok=True)
        compiled = [p for p in missing if p[0] not in PURE_ONLY]
        pure = [p for p in missing if p[0] in PURE_ONLY]
        if compiled:
            _pip_download(compiled, cache, xy, pure=False)
        if pure:
            _pip_download(pure, cache, xy, pure=True)
        found, missing = find_cached(cache, pins, xy)
        if missing:
            names = ", ".join(f"{n}=={v}" for n, v in missing)
            raise WheelDownloadError(f"pip did not leave a fitting wheel for CPython 3.{xy[1:]}: {names}")
    return [found[name] for name, _ in pins]


def keep_dependency(path: str) -> bool:
    """Is this file of an unpacked wheel loaded by the function at run time?"""
    p = PurePosixPath(path)
    parts = p.parts
    if any(part == "__pycache__" or part in ("tests", "test") for part in parts):
        return False
    if p.suffix in (".pyi", ".pyc") or p.name == "py.typed":
        return False
    if parts[0] == "tencentcloud":
        if not any(path == k or (k.endswith("/") and path.startswith(k)) for k in TENCENTCLOUD_KEEP):
            return False
        return not p.stem.endswith("_async")
    if parts[0] == "charset_normalizer" and len(parts) > 1 and parts[1] == "cli":
        return False
    if parts[0] == "pydantic" and len(parts) > 2 and parts[1] == "v1":
        return False  # pydantic 1's API, loaded only by `import pydantic.v1`; its room goes to bytecode
    return not (parts[0] == "pydantic" and p.name == "mypy.py")  # the mypy plugin runs in mypy, never here


def _wheel_entries(wheel: Path) -> Iterable[Tuple[str, bytes]]:
    """(path in the zip, bytes) of one wheel: code as installed, licences under third-party-licenses/."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            top, _, rest = name.partition("/")
            if top.endswith(".dist-info"):
                if rest and (_LICENSE_NAME.match(PurePosixPath(rest).name) or rest.startswith("licenses/")):
                    dist = top[: -len(".dist-info")]
                    rel = rest[len("licenses/"):] if rest.startswith("licenses/") else rest
                    yield f"{LICENSES_DIR}/{dist}/{rel}", zf.read(info)
                continue
            if top.endswith(".data"):
                kind, _, inner = rest.partition("/")
                if kind not in ("purelib", "platlib") or not inner:
                    continue
                name = inner
            if keep_dependency(name):
                yield name, zf.read(info)


def project_entries(root: Path) -> Dict[str, bytes]:
    """handler.py and the package, less its development tools (DEV_PATHS)."""
    package = root / "src" / "sms_receipt_stats"
    entries: Dict[str, bytes] = {"handler.py": (root / "handler.py").read_bytes()}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package.parent).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if rel.startswith(DEV_PATHS):
            continue
        entries[rel] = path.read_bytes()
    return entries


def collect(root: Path, wheels: List[Path]) -> Dict[str, bytes]:
    """Every file of the deployment, by its path in the zip."""
    entries: Dict[str, bytes] = {}
    for wheel in wheels:
        for name, data in _wheel_entries(wheel):
            if name in entries and entries[name] != data:
                if name.endswith("__init__.py"):  # a namespace shared by two wheels: the first (common) wins
                    continue
                raise PackageError(f"two wheels ship different {name}; check requirements.txt")
            entries[name] = data
    for name, data in project_entries(root).items():
        if name in entries:
            raise PackageError(f"{name} of this project clashes with a dependency")
        entries[name] = data
    return entries


def write_zip(entries: Dict[str, bytes], path: Path) -> int:
    """A deterministic zip: sorted names, one timestamp, fixed modes; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so that external_attr means a mode
            info.external_attr = (0o100755 if name.endswith(".so") else 0o100644) << 16
            zf.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(path)
    return path.stat().st_size


def _is_our_tree(directory: Path) -> bool:
    return all((directory / marker).exists() for marker in ("handler.py", "sms_receipt_stats", LICENSES_DIR))


def write_tree(entries: Dict[str, bytes], directory: Path) -> None:
    """The zip's content unpacked, for `serverless.yml` `src` (the component zips a directory).

    An existing directory is replaced only when it is an earlier tree of ours: `--output
    ~/project.zip` must never delete `~/project`.
    """
    if directory.exists() and not _is_our_tree(directory):
        raise PackageError(f"{directory} exists and is not a package tree; remove it or choose another --output")
    staging = directory.with_name(directory.name + ".tmp")
    if staging.exists():
        shutil.rmtree(staging)
    for name, data in entries.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)


def _version_key(name: str) -> Tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def target_interpreter(xy: str) -> Optional[str]:
    """A CPython 3.<xy> to compile bytecode with: pyenv's newest 3.<xy>.*, else python3.<xy> on PATH."""
    minor = f"3.{xy[1:]}"
    candidates: List[str] = []
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if versions.is_dir():
        found = [p for p in versions.iterdir() if re.match(re.escape(minor) + r"\.[0-9]+$", p.name)]
        candidates += [str(p / "bin" / "python") for p in sorted(found, key=lambda p: _version_key(p.name),
                                                                  reverse=True)]
    on_path = shutil.which(f"python{minor}")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if not os.access(candidate, os.X_OK):
            continue
        try:
            tag = subprocess.run([candidate, "-I", "-S", "-c", "import sys; print(sys.implementation.cache_tag)"],
                                 capture_output=True, text=True, timeout=60, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if tag == f"cpython-{xy}":
            return candidate
    return None


def _marked(stdout: str, marker: str) -> Optional[str]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            return line[len(marker):]
    return None


def _run_target(python: str, flags: List[str], script: str, root: Path, stdin: str, env: Dict[str, str],
                marker: str, what: str) -> Any:
    try:
        proc = subprocess.run([python, *flags, "-c", script, str(root)], input=stdin, capture_output=True,
                              text=True, timeout=PROBE_TIMEOUT, cwd=str(root.parent), env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PackageError(f"{what} did not finish on {python}: {exc.__class__.__name__}") from None
    said = _marked(proc.stdout, marker)
    if proc.returncode != 0 or said is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise PackageError(f"{what} failed on {python} (exit {proc.returncode}): " + " | ".join(tail))
    return json.loads(said)


def compile_bytecode(python: str, root: Path, sources: List[str]) -> Tuple[Dict[str, str], str]:
    """`python` compiles `sources` (paths in the tree `root`) beside them: {source: its .pyc}, and
    the interpreter's full version."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"}
    done = _run_target(python, ["-S", "-s"], COMPILE, root, json.dumps(sources), env, "COMPILED ",
                       "compiling bytecode")
    return dict(zip(sources, done["written"])), done["version"]


def entry_bytes(name: str, data: bytes) -> int:
    """What one file adds to `write_zip`'s output: headers, name twice and the deflated bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return 30 + 46 + 2 * len(name.encode("utf-8")) + len(compressor.compress(data) + compressor.flush())


class NoTargetPython(PackageError):
    """No CPython of the target version here to compile the zip's bytecode with."""


def add_bytecode(entries: Dict[str, bytes], xy: str,
                 budget: int = ZIP_BUDGET) -> Tuple[Dict[str, bytes], int, str]:
    """`entries` plus the bytecode of every `.py` among them, compiled by CPython 3.<xy>; how many
    modules were compiled; and what was done, in a sentence.

    Raises NoTargetPython without that interpreter, and PackageError when the zip would exceed
    `budget` bytes.
    """
    python = target_interpreter(xy)
    if python is None:
        raise NoTargetPython(f"no CPython 3.{xy[1:]} found (pyenv or python3.{xy[1:]} on PATH) to compile the "
                             f"zip's bytecode with; install it (e.g. `pyenv install 3.{xy[1:]}`), or build with "
                             "--no-bytecode and every cold start compiles the modules it imports")
    sources = sorted(name for name in entries if name.endswith(".py"))
    with tempfile.TemporaryDirectory(prefix="sms-receipt-stats-bytecode-") as tmp:
        root = Path(tmp) / "tree"
        for name in sources:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entries[name])
        written, version = compile_bytecode(python, root, sources)
        compiled = {pyc: (root / pyc).read_bytes() for pyc in written.values()}
    merged = dict(entries)
    for pyc, data in compiled.items():
        if pyc in merged:
            raise PackageError(f"{pyc} is already in the package")
        merged[pyc] = data
    size = 22 + sum(entry_bytes(name, data) for name, data in merged.items())
    if size > budget:
        raise PackageError(f"the zip would be {size:,} bytes, over its budget of {budget:,} "
                           "(docs/troubleshooting.md, *Package size*)")
    return merged, len(sources), (f"bytecode of all {len(sources)} modules, compiled by CPython {version} "
                                  f"({python})")


def build_zip(python: str = DEFAULT_PYTHON, output: Optional[str] = None, *, tree: bool = True,
              bytecode: bool = True) -> BuildResult:
    """Build the zip (and its unpacked tree) or raise PackageError; `bytecode=False` ships sources only."""
    xy = parse_python(python)
    root = project_root()
    path = Path(output) if output else root / "dist" / f"sms-receipt-stats-py{xy}.zip"
    if path.suffix != ".zip":
        raise PackageError(f"--output must name a .zip file (got {path.name})")
    directory = path.with_suffix("") if tree else None
    if directory is not None and directory.exists() and not _is_our_tree(directory):
        raise PackageError(f"{directory} exists and is not a package tree; remove it or choose another --output")
    pins = read_pins(root / "requirements.txt")
    wheels = fetch_wheels(pins, xy, cache_root() / f"3.{xy[1:]}")
    entries = collect(root, wheels)
    modules, note = 0, ("no bytecode (--no-bytecode): SCF's code directory is read-only, so every cold start "
                    "compiles the modules it imports")
    if bytecode:
        entries, modules, note = add_bytecode(entries, xy)
    elif 22 + sum(entry_bytes(name, data) for name, data in entries.items()) > ZIP_BUDGET:
        raise PackageError(f"the zip would be over its budget of {ZIP_BUDGET:,} bytes")
    size = write_zip(entries, path)
    if directory is not None:
        write_tree(entries, directory)
    return BuildResult(path=path, size=size, files=len(entries), python=f"3.{xy[1:]}",
                       wheels=[w.name for w in wheels], tree=directory,
                       bytecode=sum(1 for name in entries if name.endswith(".pyc")), modules=modules,
                       bytecode_note=note)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_package(python: str = DEFAULT_PYTHON, output: Optional[str] = None, bytecode: bool = True) -> int:
    """The CLI command: build, print the zip's path and size; exit 2 with a reason when it cannot."""
    try:
        result = build_zip(python, output, bytecode=bytecode)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"package: cannot write the package: {exc.strerror or exc.__class__.__name__} "
              f"({exc.filename or ''})", file=sys.stderr)
        return 2
    print(f"{_shown(result.path)}  {result.size:,} bytes ({result.size / 2**20:.2f} MiB, budget "
          f"{ZIP_BUDGET / 1e6:.0f} MB), {result.files} files, CPython {result.python} manylinux2014_x86_64")
    print(f"  {result.bytecode_note}")
    if result.tree is not None:
        print(f"{_shown(result.tree)}/  the same files unpacked (serverless.yml `src`)")
    return 0
