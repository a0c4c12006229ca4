"""`NOTIFY_URLS` entries: `[kind+]URL[#options]` parsed into validated sink specs.

The URL of a chat robot *is* its secret (the key / access_token travels in it), so a spec
never prints its URL: `label` names the kind and host only.

An option the kind cannot use (`secret=` on an unsigned platform, `mention=` where nobody
can be mentioned, ...) is reported as a problem, but the entry still loads: the option just
has no effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Pattern, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from sms_receipt_stats.notify.platforms import COMMON_OPTIONS, Platform, Registry, registry
from sms_receipt_stats.variables import Variable
from sms_receipt_stats.vocabulary import SEVERITIES

if TYPE_CHECKING:
    from urllib.parse import SplitResult

_MOBILE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")


def _prefix_pattern(reg: Registry) -> Pattern[str]:
    """`kind+` at the start of an entry, for every prefix a platform declares."""
    alternatives = "|".join(re.escape(p) for p in sorted(reg.prefixes, key=len, reverse=True))
    return re.compile(rf"^({alternatives})\+", re.IGNORECASE)


class SinkConfigError(ValueError):
    """A bad `NOTIFY_URLS` entry; the message names the entry by position and masked form."""


@dataclass(frozen=True)
class SinkSpec:
    kind: str
    url: str = field(repr=False)  # target URL without the fragment; secret-bearing
    index: int = 1
    secret: Optional[str] = field(default=None, repr=False)
    min_severity: str = "info"
    mention_all: bool = False
    mention_mobiles: Tuple[str, ...] = ()
    region: Optional[str] = None
    endpoint: Optional[str] = None
    name: str = ""  # queue or topic name of kinds addressed by name (cmq), not by a secret URL
    #: what the platform's own parse hook returns beyond the fields above (an AMQP exchange, a
    #: routing key, ...), sorted by key: a platform adds options without touching this class
    params: Tuple[Tuple[str, Any], ...] = field(default=(), repr=False)
    #: the keys of `params` whose values are secrets (the platform's `private_options`)
    private: Tuple[str, ...] = ()

    def param(self, key: str, default: Any = None) -> Any:
        """A value the platform's parse hook returned for this entry (`params`)."""
        return dict(self.params).get(key, default)

    @property
    def host(self) -> str:
        if self.name:
            return self.name
        return urlsplit(self.url).hostname or "?"

    @property
    def label(self) -> str:
        """Safe to print: kind and host, never path, query or secret."""
        return f"{self.kind}#{self.index}({self.host})"

    def secret_values(self) -> List[str]:
        """Every secret-bearing part of this entry, for scrubbing outputs."""
        values = [self.url] if not self.name else []
        parts = urlsplit(self.url)
        values += [v for _, v in parse_qsl(parts.query) if v]
        values += [seg for seg in parts.path.split("/") if len(seg) >= 16]
        values += [v for v in (parts.username, parts.password) if v]  # https://user:token@host/…
        if self.secret:
            values.append(self.secret)
        values += [str(v) for k, v in self.params if k in self.private and v]
        return values


def mask_entry(entry: str) -> str:
    """`kind+scheme://host/…` with path, query and fragment hidden."""
    text = entry.strip()
    reg = registry()
    m = _prefix_pattern(reg).match(text)
    prefix = m.group(0) if m else ""
    rest = text[len(prefix):]
    try:
        parts = urlsplit(rest)
        host = parts.hostname or ""
        scheme = parts.scheme
    except ValueError:
        return prefix + "<unparseable>"
    if scheme in reg.schemes:
        return f"{prefix}{scheme}://{host}/…"
    return f"{prefix}{scheme}://{host}/…" if host else prefix + "<no host>"


def split_entries(value: str) -> List[str]:
    return [e.strip() for e in re.split(r"[,\n]", value or "") if e.strip()]


def _parse_options(fragment: str, where: str, known: Tuple[str, ...]) -> dict:
    """`key=value&…` with %-escapes; unlike a query string, `+` stays `+` (base64 secrets)."""
    options: dict = {}
    for item in fragment.split("&"):
        if not item:
            continue
        raw_key, _, raw_val = item.partition("=")
        key, val = unquote(raw_key), unquote(raw_val)
        if key not in known:  # not quoted: a secret pasted without `secret=` lands here
            raise SinkConfigError(f"{where}: unknown option (known: {', '.join(known)})")
        options[key] = val
    return options


def _ignored_options(reg: Registry, kind: str, options: dict, mention_all: bool) -> List[str]:
    """Why each option set (non-empty) in `options` does nothing for `kind`; never quotes a value."""
    platform = reg.platform(kind)
    name = platform.names[kind]
    reasons: List[str] = []
    if options.get("secret") and "secret" not in platform.options:
        reasons.append(f"secret= is ignored: {name} messages are not signed, nothing uses the secret")
    if options.get("mention"):
        if "mention" not in platform.options:
            what = "the result document, which has no mentions" if platform.markup is None else "no mentions"
            reasons.append(f"mention= is ignored: {name} gets {what}")
        elif not mention_all and not platform.mention_mobiles:
            reasons.append(f"mention=<mobile> is ignored: {name} robots cannot mention by mobile number, "
                           "only mention=all works")
    for key in reg.options:
        if key in ("secret", "mention") or key in platform.options or key in COMMON_OPTIONS or not options.get(key):
            continue
        forms = " and ".join(_url_form(p) for p in reg.accepting(key))
        reasons.append(f"{key}= is ignored: it applies to {forms} entries only")
    return reasons


def _url_form(platform: Platform) -> str:
    return f"{platform.scheme}://" if platform.scheme else "/".join(platform.kinds)


def parse_entry(entry: str, index: int = 1) -> SinkSpec:
    """One entry as a spec; raises SinkConfigError when it is unusable (ignored options are not)."""
    return parse_entry_checked(entry, index)[0]


def parse_entry_checked(entry: str, index: int = 1) -> Tuple[SinkSpec, Optional[str]]:
    """One entry as a spec, and a problem naming the options it ignores (None when it ignores none).

    Raises SinkConfigError when the entry is unusable."""
    spec, ignored = _parse(entry, index)
    return spec, (f"{_where(entry, index)}: " + "; ".join(ignored) if ignored else None)


def _where(entry: str, index: int) -> str:
    return f"NOTIFY_URLS entry {index} ({mask_entry(entry)})"


def _parse(entry: str, index: int) -> Tuple[SinkSpec, List[str]]:
    """The spec and why each option it ignores is ignored."""
    where = _where(entry, index)
    reg = registry()
    text = entry.strip()
    m = _prefix_pattern(reg).match(text)
    forced = m.group(1).lower() if m else None
    rest = text[m.end():] if m else text
    url, _, fragment = rest.partition("#")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise SinkConfigError(f"{where}: not a valid URL ({exc.__class__.__name__})") from None
    options = _parse_options(fragment, where, reg.options)
    severity = options.get("min_severity", "info") or "info"
    if severity not in SEVERITIES:
        raise SinkConfigError(f"{where}: min_severity must be one of {', '.join(SEVERITIES)}")
    mention = options.get("mention", "")
    mention_all = mention == "all"
    mobiles: Tuple[str, ...] = ()
    if mention and not mention_all:
        mobiles = tuple(x.strip() for x in mention.split(";") if x.strip())
        bad = [x for x in mobiles if not _MOBILE.match(x)]
        if bad:
            raise SinkConfigError(f"{where}: mention must be 'all' or mobiles separated by ';'")
    common = {
        "index": index,
        "secret": options.get("secret") or None,
        "min_severity": severity,
        "mention_all": mention_all,
        "mention_mobiles": mobiles,
    }
    own = reg.schemes.get(parts.scheme)
    if own is not None:
        if forced:
            raise SinkConfigError(f"{where}: a {parts.scheme}:// URL takes no kind prefix")
        extra = _hook(own, None, parts, options, where)
        kind = extra.pop("kind")
        return SinkSpec(kind=kind, url=url, **common, **extra), _ignored_options(reg, kind, options, mention_all)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        forms = "".join(f" or {p.form}" for p in reg.platforms if p.scheme)
        raise SinkConfigError(f"{where}: expected an http(s) URL, a kind+URL{forms}")
    if parts.scheme == "http" and parts.hostname.lower() in reg.hosts:
        raise SinkConfigError(f"{where}: use https:// for {parts.hostname.lower()} (over http:// the robot's "
                              "key would travel in clear text)")
    kind = forced or reg.hosts.get(parts.hostname.lower(), reg.catch_all)
    platform = reg.platform(kind)
    if platform.signing and "secret" in options and not options["secret"]:
        raise SinkConfigError(f"{where}: secret= is empty: give the signing secret, or drop the option "
                              "(messages would go out unsigned)")
    extra = _hook(platform, kind, parts, options, where)
    return SinkSpec(kind=kind, url=url, **common, **extra), _ignored_options(reg, kind, options, mention_all)


#: what a platform's parse hook may set directly; anything else it returns goes to `SinkSpec.params`
_SPEC_FIELDS = frozenset({"kind", "region", "endpoint", "name"})


def _hook(platform: Platform, kind: Optional[str], parts: SplitResult, options: dict, where: str) -> Dict[str, Any]:
    """The platform's own checks and fields; its ValueError becomes the entry's problem.

    Keys the spec has a field for are returned as they are; the rest travel in `params`, so a
    platform module declares options of its own (an exchange, a routing key) in one file."""
    if platform.parse is None:
        return {}
    try:
        found = dict(platform.parse(kind, parts, options))
    except ValueError as exc:
        raise SinkConfigError(f"{where}: {exc}") from None
    fields = {key: value for key, value in found.items() if key in _SPEC_FIELDS}
    params = tuple(sorted((key, value) for key, value in found.items() if key not in _SPEC_FIELDS))
    if params:
        fields["params"] = params
        fields["private"] = tuple(key for key, _ in params if key in platform.private_options)
    return fields


def parse_notify_urls(value: str) -> Tuple[List[SinkSpec], List[str]]:
    """Parse every entry; a bad entry is reported (masked) and the others still load.

    An entry with options its kind ignores loads too, and is also reported."""
    specs: List[SinkSpec] = []
    problems: List[str] = []
    for i, entry in enumerate(split_entries(value), start=1):
        try:
            spec, problem = parse_entry_checked(entry, i)
        except SinkConfigError as exc:
            problems.append(str(exc))
            continue
        specs.append(spec)
        if problem:
            problems.append(problem)
    return specs, problems


def _sinks(raw: str, variable: Variable, notes: List[str]) -> Tuple[SinkSpec, ...]:
    specs, problems = parse_notify_urls(raw)
    notes.extend(problems)
    return tuple(specs)


#: each entry is a secret of its own (`SinkSpec.secret_values`): never quoted whole
VARIABLES = (
    Variable("NOTIFY_URLS", "sinks", "text", (), "sinks, comma- or newline-separated (docs/sinks.md)",
             high=65536, parse=_sinks),
)
