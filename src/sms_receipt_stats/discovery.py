"""Packages whose modules declare themselves: chat platforms, alert rules, store back ends, HTTP routes.

A module of such a package declares one object (`PLATFORM = Platform(...)`, `RULE = RuleSpec(...)`,
`BACKEND = Backend(...)`, `ROUTES = (Route(...),)`); `declarations` imports the package's modules in
name order and returns what they declare, so a new platform, rule, back end or route is one new
module. `Lazy` builds a
registry on first use, never when `handler` is imported, and forgets it for tests. Standard
library only: every registry sits on top of this module.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, List, Optional, Sequence, Tuple, Type, TypeVar

T = TypeVar("T")


def module_names(paths: Sequence[str], package: str, keep: Optional[Callable[[str], bool]] = None) -> List[str]:
    """The full names of the modules in `paths` (in name order), without importing them; a name
    starting with `_` is a helper, not a declaration."""
    import pkgutil

    names = [info.name for info in pkgutil.iter_modules(list(paths)) if not info.name.startswith("_")]
    return [f"{package}.{name}" for name in sorted(names) if keep is None or keep(name)]


def declarations(paths: Sequence[str], package: str, attribute: str, kind: Type[T], *,
                 keep: Optional[Callable[[str], bool]] = None, required: bool = False) -> List[Tuple[str, T]]:
    """(module name, declaration) of every module in `paths` whose `attribute` is a `kind`; with
    `required`, a module without one is a bug that fails loudly, naming it."""
    from importlib import import_module

    found: List[Tuple[str, T]] = []
    for name in module_names(paths, package, keep):
        declared: Any = getattr(import_module(name), attribute, None)
        if isinstance(declared, kind):
            found.append((name, declared))
        elif required:
            raise RuntimeError(f"module {name} declares no {attribute} = {kind.__name__}(...)")
    return found


class Lazy(Generic[T]):
    """A registry built by `build` on first use and kept; `reset` forgets it (tests)."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._value: Optional[T] = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._build()
        return self._value

    def reset(self) -> None:
        self._value = None
