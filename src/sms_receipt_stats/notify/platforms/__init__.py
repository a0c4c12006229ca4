"""Chat and queue platforms: one module each, found by the registry on its own.

A platform module (`wecom.py`, `slack.py`, ...) declares everything about its platform in one
`PLATFORM = Platform(...)`: its kind names, the robot hosts that identify it, the `kind+` URL
prefixes, the `NOTIFY_URLS` options it uses, whether and how it signs, its one size limit, its
markup (chat platforms) and its sink classes. `registry()` imports every module of this package
that declares a `PLATFORM`, so adding a platform is adding one module here (plus its test):
`notify/urls.py` (NOTIFY_URLS parsing), `notify/delivery.py` (building sinks) and `render`
(flavors, limits, markup) read the registry instead of tables of their own.

The registry loads on first use, not on import: `import handler` parses no `NOTIFY_URLS`, and a
platform module imports `requests` only when it sends. Platform modules import the shared
bases (`notify/markup.py`, `notify/base.py`), never `render` or `config`. This module itself
imports only the leaf `notify/markup.py` (for types): `config` parses NOTIFY_URLS through it, so it
names a sink class by the `SinkClass` protocol rather than importing `notify/base.py`, which
types against `config`; the import graph (typing imports included) has no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple, Type

from sms_receipt_stats.discovery import Lazy, declarations

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from sms_receipt_stats.notify.markup import Markup

#: Options of an entry that concern delivery, not the platform: every entry accepts them.
COMMON_OPTIONS = ("min_severity",)
#: The order options are listed in messages; options a platform adds later come after these.
OPTION_ORDER = ("secret", "min_severity", "mention", "region", "endpoint")

#: `parse(kind, url_parts, options) -> extra SinkSpec fields`. `kind` is None for a platform with
#: its own scheme (the hook then returns "kind"); a ValueError's text becomes the entry's problem.
ParseHook = Callable[[Optional[str], "SplitResult", Dict[str, str]], Dict[str, Any]]


def endpoint_option(options: Dict[str, str]) -> Optional[str]:
    """An entry's `endpoint=` checked as SMS_ENDPOINT is written (`host[:port]` or `http(s)://host[:port]`);
    None when absent. The ValueError names the option, for the entry's problem."""
    endpoint = options.get("endpoint") or None
    if endpoint is not None:
        from sms_receipt_stats.endpoint import parse_endpoint

        try:
            parse_endpoint(endpoint)
        except ValueError as exc:
            raise ValueError(f"endpoint: {exc}") from None
    return endpoint


class SinkClass(Protocol):
    """A sink class (a `notify.base.Sink`) as the registry sees it: named, called with a `SinkSpec`
    to make the sink (its `kind` is read with getattr: mypy cannot match a class variable of a
    class object). A protocol, so the registry needs no import of `notify.base`."""

    @property
    def __name__(self) -> str: ...

    def __call__(self, spec: Any) -> Any: ...


@dataclass(frozen=True)
class Platform:
    """Everything the rest of the package needs to know about one platform."""

    #: kind → display name used in problems; the first kind is the platform's own
    names: Mapping[str, str]
    #: the one size limit of a message (the rendered body of a chat message, the document of a
    #: queue message), UTF-8 bytes, its source cited next to the constant; None = no limit of ours
    max_bytes: Optional[int]
    #: kind → the sink class that delivers entries of that kind
    sinks: Mapping[str, SinkClass] = field(default_factory=dict)
    #: how a chat platform marks text up (its flavor is `markup.name`); None = sends the document
    markup: Optional[Type[Markup]] = None
    #: robot host → kind: an https URL on that host is this platform without a `kind+` prefix
    hosts: Mapping[str, str] = field(default_factory=dict)
    #: the `kind+URL` prefixes that force a kind (each one a kind of `names`)
    prefixes: Tuple[str, ...] = ()
    #: a URL scheme of the platform's own (`cmq://`); None = http(s) URLs
    scheme: Optional[str] = None
    #: more schemes of its own, parsed by the same hook (`amqps` beside `amqp`)
    schemes: Tuple[str, ...] = ()
    #: how its entries are written, for problems (`cmq://queue|topic/NAME`)
    form: str = ""
    #: takes every http(s) URL on a host no platform claims (one platform only: the webhook)
    catch_all: bool = False
    #: the options it uses besides COMMON_OPTIONS: secret, mention, region, endpoint
    options: Tuple[str, ...] = ()
    #: how `secret=` signs a message; None = not signed (then `secret` is not an option)
    signing: Optional[str] = None
    #: whether `mention=` takes mobile numbers (else only `mention=all` works)
    mention_mobiles: bool = False
    #: checks and fields of its own, see ParseHook
    parse: Optional[ParseHook] = None
    #: the values its parse hook returns under these keys are secrets: scrubbed from every output
    private_options: Tuple[str, ...] = ()

    @property
    def kinds(self) -> Tuple[str, ...]:
        return tuple(self.names)

    @property
    def flavor(self) -> Optional[str]:
        return None if self.markup is None else self.markup.name


@dataclass(frozen=True)
class Registry:
    """Every platform, and the lookups the parser, the renderer and delivery make."""

    platforms: Tuple[Platform, ...]
    by_kind: Dict[str, Platform]
    sinks: Dict[str, SinkClass]
    markups: Dict[str, Markup]  # flavor → markup instance
    hosts: Dict[str, str]  # robot host → kind
    prefixes: Tuple[str, ...]  # every `kind+` prefix
    schemes: Dict[str, Platform]  # own URL scheme → platform
    options: Tuple[str, ...]  # every option an entry may carry, in display order
    catch_all: str  # the kind of an http(s) URL on a host no platform claims

    def platform(self, kind: str) -> Platform:
        try:
            return self.by_kind[kind]
        except KeyError:
            raise ValueError(f"unknown sink kind {kind!r}") from None

    def accepting(self, option: str) -> List[Platform]:
        return [p for p in self.platforms if option in p.options]


def _check(platform: Platform, module: str) -> None:
    """A declaration that contradicts itself is a bug in the module: fail loudly, naming it."""
    problems = []
    if ("secret" in platform.options) != (platform.signing is not None):
        problems.append("`secret` must be an option exactly when the platform signs")
    if set(platform.sinks) != set(platform.names):
        problems.append("every kind needs a sink class and a display name")
    for kind, cls in platform.sinks.items():
        said = getattr(cls, "kind", kind)
        if said != kind:
            problems.append(f"sink class {cls.__name__} says kind {said!r}, declared as {kind!r}")
    if not set(platform.hosts.values()) <= set(platform.names) or not set(platform.prefixes) <= set(platform.names):
        problems.append("hosts and prefixes must name kinds of the platform")
    if platform.markup is not None and platform.markup.max_bytes != platform.max_bytes:
        problems.append("the markup's max_bytes must be the platform's")
    if problems:
        raise RuntimeError(f"platform module {module}: " + "; ".join(problems))


def discover(paths: Optional[Sequence[str]] = None) -> Registry:
    """Import every platform module (in name order) and index what they declare."""
    found: List[Platform] = []
    for name, platform in declarations(__path__ if paths is None else paths, __name__, "PLATFORM", Platform):
        _check(platform, name)
        found.append(platform)
    by_kind: Dict[str, Platform] = {}
    markups: Dict[str, Markup] = {}
    hosts: Dict[str, str] = {}
    schemes: Dict[str, Platform] = {}
    for platform in found:
        for kind in platform.kinds:
            if kind in by_kind:
                raise RuntimeError(f"sink kind {kind!r} is declared by two platform modules")
            by_kind[kind] = platform
        for host, kind in platform.hosts.items():
            if hosts.setdefault(host.lower(), kind) != kind:
                raise RuntimeError(f"robot host {host!r} is declared by two platform modules")
        if platform.markup is not None:
            if platform.markup.name in markups:
                raise RuntimeError(f"message flavor {platform.markup.name!r} is declared twice")
            markups[platform.markup.name] = platform.markup()
        for scheme in ((platform.scheme,) if platform.scheme is not None else ()) + platform.schemes:
            if schemes.setdefault(scheme, platform) is not platform:
                raise RuntimeError(f"URL scheme {scheme!r} is declared by two platform modules")
    catch_all = [p.kinds[0] for p in found if p.catch_all]
    if len(catch_all) != 1:
        raise RuntimeError(f"exactly one platform must take URLs no other claims, not {catch_all}")
    declared = {o for p in found for o in p.options} | set(COMMON_OPTIONS)
    options = tuple(o for o in OPTION_ORDER if o in declared)
    options += tuple(sorted(declared - set(options)))
    return Registry(
        platforms=tuple(found),
        by_kind=by_kind,
        sinks={kind: cls for p in found for kind, cls in p.sinks.items()},
        markups=markups,
        hosts=hosts,
        prefixes=tuple(prefix for p in found for prefix in p.prefixes),
        schemes=schemes,
        options=options,
        catch_all=catch_all[0],
    )


_registry: Lazy[Registry] = Lazy(lambda: discover())


def registry() -> Registry:
    """The registry of this package's platform modules, built on first use."""
    return _registry.get()


def reset() -> None:
    """Forget the registry, so the next `registry()` looks for modules again (tests)."""
    _registry.reset()
