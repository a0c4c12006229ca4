"""`sms-receipt-stats package`: the SCF deployment zip (SPEC sections 2 and 9).

The zip holds `handler.py`, the `sms_receipt_stats` package and the pinned runtime
dependencies of `requirements.txt`, unpacked from manylinux wheels downloaded *for the
target CPython*: `pydantic_core` is compiled, so the wheel installed on the build host is
wrong for any other Python version. Wheels are cached under
`~/.cache/sms-receipt-stats/wheels/<python>/`, so a rebuild needs no network.

What the function never loads is left out, because every byte is fetched and unpacked
again at each cold start: `*.dist-info` (licence files are kept under
`third-party-licenses/`), `__pycache__`, tests, typing stubs, the SDK's async modules
(they need httpx, which is not shipped), the SMS API's 2019-07-11 version and the
development-only modules of this package (CLI, emulator, chat receiver, this builder).
`tzdata` is kept whole (0.24 MB compressed): SCF images are not documented to ship
`/usr/share/zoneinfo`, and any IANA zone is a valid `REPORT_TIMEZONE`.

The zip is deterministic (sorted entries, fixed timestamps and modes, deflate level 9):
the same pins and sources give the same bytes. The unpacked tree is written beside it,
because that is what `serverless.yml` hands to the SCF component (`src`).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Tuple

DEFAULT_PYTHON = "3.10"
#: SCF runs x86_64 Linux; its images have glibc >= 2.17, so manylinux2014 wheels load
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64")
#: the pure-python wheel is preferred: requests only needs charset detection for
#: responses without a charset, and the compiled build is larger and tied to one Python
PURE_ONLY = frozenset({"charset-normalizer"})
#: modules of this package that only serve local development; nothing on the handler's path imports them
DEV_ONLY = frozenset({"cli", "__main__", "emulator", "receiver", "samples", "package"})
#: the only tencentcloud products the function calls (SMS 2021-01-11; CMQ goes through common's CommonClient)
TENCENTCLOUD_KEEP = ("tencentcloud/__init__.py", "tencentcloud/common/", "tencentcloud/sms/__init__.py",
                     "tencentcloud/sms/v20210111/")
LICENSES_DIR = "third-party-licenses"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PIP_TIMEOUT = 600

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


def cache_root() -> Path:
    """Where downloaded wheels are kept: `$XDG_CACHE_HOME` (else ~/.cache)/sms-receipt-stats/wheels."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sms-receipt-stats" / "wheels"


def normalize(name: str) -> str:
    """PEP 503 name: what wheel file names and pins are compared by."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_root() -> Path:
    """The checkout this module lives in (src/sms_receipt_stats/package.py)."""
    root = Path(__file__).resolve().parents[2]
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


def _imported_modules(source: bytes) -> Iterable[str]:
    """`sms_receipt_stats.X` names a module imports, at any depth (lazy imports included)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def project_entries(root: Path) -> Dict[str, bytes]:
    """handler.py and the package, less the development-only modules nothing at run time imports."""
    package = root / "src" / "sms_receipt_stats"
    entries: Dict[str, bytes] = {"handler.py": (root / "handler.py").read_bytes()}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package.parent).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        entries[rel] = path.read_bytes()
    dev_only = {f"sms_receipt_stats/{name}.py" for name in DEV_ONLY}
    needed = set()
    for rel, data in entries.items():
        if rel.endswith(".py") and rel not in dev_only:
            needed.update(m for m in _imported_modules(data) if m.startswith("sms_receipt_stats."))
    for rel in sorted(dev_only):
        module = rel[:-3].replace("/", ".")
        if module not in needed:  # a runtime module that imports it keeps it in the zip
            entries.pop(rel, None)
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


def build_zip(python: str = DEFAULT_PYTHON, output: Optional[str] = None, *, tree: bool = True) -> BuildResult:
    """Build the zip (and its unpacked tree) or raise PackageError."""
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
    size = write_zip(entries, path)
    if directory is not None:
        write_tree(entries, directory)
    return BuildResult(path=path, size=size, files=len(entries), python=f"3.{xy[1:]}",
                       wheels=[w.name for w in wheels], tree=directory)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_package(python: str = DEFAULT_PYTHON, output: Optional[str] = None) -> int:
    """The CLI command: build, print the zip's path and size; exit 2 with a reason when it cannot."""
    try:
        result = build_zip(python, output)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"package: cannot write the package: {exc.strerror or exc.__class__.__name__} "
              f"({exc.filename or ''})", file=sys.stderr)
        return 2
    print(f"{_shown(result.path)}  {result.size:,} bytes ({result.size / 2**20:.2f} MiB), "
          f"{result.files} files, CPython {result.python} manylinux2014_x86_64")
    if result.tree is not None:
        print(f"{_shown(result.tree)}/  the same files unpacked (serverless.yml `src`)")
    return 0
