"""The import graph of the package: no cycle at import time, one direction of flow, `dev/` kept apart.

The flow is `handler` → `app` (classify, route, answer errors) → `jobs` (every job) → the
layers below (query, documents, render, notify, …). The graph is read from the sources (AST):
every import is an arrow of the flow, a lazy one inside a function and a typing one under
`if TYPE_CHECKING:` too (a type names what a module depends on, and a typing circle is a layering
circle that only waits for its first runtime import); import-time edges are the module-level
ones outside `if TYPE_CHECKING:`, what Python runs when the module loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import AbstractSet, Dict, FrozenSet, Iterator, List, Mapping, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "sms_receipt_stats"
NAME = "sms_receipt_stats"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


MODULES = all_modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, *, import_time: bool, typing_too: bool = False) -> Iterator[Tuple[str, List[str]]]:
    """(module, imported names) of each import; `import_time`: module level only, no TYPE_CHECKING."""
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if import_time and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in (child.body + child.orelse) if typing_too else child.orelse:
                    yield stmt
                    yield from walk(stmt)
                continue
            yield child
            yield from walk(child)

    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]


def _targets(module: str, names: List[str]) -> Set[str]:
    """Our modules an import loads: the module, its parent packages, and submodules named in `from`."""
    if module != NAME and not module.startswith(NAME + "."):
        return set()
    parts = module.split(".")
    found = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(MODULES)
    found.update(f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES)
    return found


@cache
def graph(*, import_time: bool, typing_too: bool = False) -> Dict[str, FrozenSet[str]]:
    """Module → our modules it imports. At import time, an edge to one's own ancestor package is
    left out: Python imports the ancestors before the module, so it cannot close a cycle."""
    edges: Dict[str, FrozenSet[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: Set[str] = set()
        for module, names in _imports(tree, import_time=import_time, typing_too=typing_too):
            targets |= _targets(module, names)
        parts = name.split(".")
        ancestors = {".".join(parts[:i]) for i in range(1, len(parts))} if import_time else set()
        edges[name] = frozenset(targets - {name} - ancestors)
    return edges


def find_cycle(edges: Mapping[str, AbstractSet[str]]) -> List[str]:
    """One cycle of the graph as a path of module names, or [] (depth-first, three colours)."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if state.get(node) is None:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def arrows() -> Dict[str, FrozenSet[str]]:
    """Every import of each module: module-level, lazy (inside functions) and typing-only alike."""
    return graph(import_time=False, typing_too=True)


def runtime_arrows() -> Dict[str, Set[str]]:
    """`arrows()` among runtime modules (not `dev/`), without a submodule's arrow to its own package
    (the package's `__init__` is loaded first, and a registry package finds its modules by name)."""
    return {module: {target for target in targets
                     if not target.startswith(f"{NAME}.dev") and not module.startswith(f"{target}.")}
            for module, targets in arrows().items() if not module.startswith(f"{NAME}.dev")}


def reaches(edges: Mapping[str, AbstractSet[str]], start: str) -> Set[str]:
    seen: Set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# -- the checker checks ---------------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_import_time_edges_skip_functions_and_type_checking() -> None:
    source = ("from typing import TYPE_CHECKING\nimport sms_receipt_stats.query\n"
              "if TYPE_CHECKING:\n    from sms_receipt_stats.jobs import JobDeps\n"
              "def f():\n    from sms_receipt_stats import app\n")
    tree = ast.parse(source)
    assert [m for m, _ in _imports(tree, import_time=True)] == ["typing", "sms_receipt_stats.query"]
    assert [m for m, _ in _imports(tree, import_time=False)] == ["typing", "sms_receipt_stats.query",
                                                                  "sms_receipt_stats"]


def test_a_typing_import_is_an_arrow_of_the_full_graph() -> None:
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sms_receipt_stats.jobs import JobDeps\n"
              "else:\n    import sms_receipt_stats.query\n")
    tree = ast.parse(source)
    assert [m for m, _ in _imports(tree, import_time=False, typing_too=True)] == [
        "typing", "sms_receipt_stats.jobs", "sms_receipt_stats.query"]
    assert [m for m, _ in _imports(tree, import_time=True)] == ["typing", "sms_receipt_stats.query"]


# -- the package ----------------------------------------------------------------------------------


def test_no_import_cycle_at_import_time() -> None:
    cycle = find_cycle(graph(import_time=True))
    assert not cycle, " -> ".join(cycle)


def test_no_import_cycle_even_through_lazy_or_typing_imports() -> None:
    """Runtime modules only; a submodule importing its own package (its `__init__`) is not a cycle."""
    cycle = find_cycle(runtime_arrows())
    assert not cycle, " -> ".join(cycle)


def test_the_full_graph_sees_typing_imports() -> None:
    """The cycle test above would pass vacuously if typing imports were dropped: they are in the graph."""
    typing_only = {(m, t) for m, targets in arrows().items() for t in targets} - {
        (m, t) for m, targets in graph(import_time=False).items() for t in targets}
    assert (f"{NAME}.notify.base", f"{NAME}.config") in typing_only  # `Settings`, a type only there


def test_every_runtime_module_imports_in_a_fresh_interpreter() -> None:
    """What the AST cannot see (an import through a name) still fails here, at import time."""
    runtime = sorted(m for m in MODULES if not m.startswith(f"{NAME}.dev") and not m.endswith("__main__"))
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(PACKAGE.parent)!r})\n"
                           + script, *runtime], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_flow_goes_one_way_handler_app_jobs() -> None:
    edges = arrows()
    importers_of_app = {m for m, targets in edges.items() if f"{NAME}.app" in targets}
    assert importers_of_app <= {f"{NAME}.dev.cli"}  # besides handler.py, only the local CLI
    app_imports = edges[f"{NAME}.app"]
    # app routes; the work (queries, SDK, state store, dashboard, sinks, rendering) is jobs' business
    for below in ("query", "sdk", "state", "dashboard", "notify", "render", "doctor", "rules", "stats", "retry"):
        assert not [m for m in app_imports if m == f"{NAME}.{below}" or m.startswith(f"{NAME}.{below}.")], below
    assert f"{NAME}.jobs" in app_imports


@pytest.mark.parametrize("layer", ["query", "documents", "render", "notify", "sdk", "config", "windows", "stats",
                                   "rules", "catalogue", "redaction", "retry", "http", "events", "log", "links",
                                   "endpoint", "measure", "doctor", "dashboard", "state", "text"])
def test_the_layers_below_jobs_never_reach_back_up(layer: str) -> None:
    """Through any chain of arrows, typing ones included (a type of `jobs` below it is an arrow up)."""
    members = [m for m in MODULES if m == f"{NAME}.{layer}" or m.startswith(f"{NAME}.{layer}.")]
    assert members
    for member in members:
        up = {f"{NAME}.app", f"{NAME}.jobs"} & reaches(arrows(), member)
        assert not up, f"{member} imports {sorted(up)}"


def test_runtime_modules_never_import_the_dev_tools() -> None:
    """The zip leaves `dev/` out: a runtime import of it (even a lazy or a typing one) would fail in SCF."""
    edges = graph(import_time=False, typing_too=True)
    runtime = [m for m in MODULES if not m.startswith(f"{NAME}.dev") and m != f"{NAME}.__main__"]
    offenders = {m: sorted(t for t in edges[m] if t.startswith(f"{NAME}.dev")) for m in runtime}
    assert not {m: t for m, t in offenders.items() if t}
    handler = ast.parse((ROOT / "handler.py").read_text(encoding="utf-8"))
    assert not [m for m, _ in _imports(handler, import_time=False, typing_too=True) if ".dev" in m]
    assert f"{NAME}.dev" in MODULES and f"{NAME}.dev.cli" in MODULES  # the scan sees the dev package
