"""`NOTIFY_URLS` entries: `[kind+]URL[#options]` parsed into validated sink specs.

The URL of a chat robot *is* its secret (the key / access_token travels in it), so a spec
never prints its URL: `label` names the kind and host only.

An option the kind cannot use (`secret=` on an unsigned platform, `mention=` where nobody
can be mentioned, ...) is reported as a problem, but the entry still loads: the option just
has no effect.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

SEVERITIES = ("info", "warning", "critical")
HOST_KINDS = {
    "qyapi.weixin.qq.com": "wecom",
    "oapi.dingtalk.com": "dingtalk",
    "open.feishu.cn": "feishu",
    "open.larksuite.com": "lark",
    "hooks.slack.com": "slack",
}
_PREFIX = re.compile(r"^(wecom|dingtalk|feishu|lark|slack|webhook)\+", re.IGNORECASE)
_MOBILE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
_CMQ_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_OPTIONS = ("secret", "min_severity", "mention", "region", "endpoint")
#: kinds whose messages `secret=` signs
_SIGNED = ("dingtalk", "feishu", "lark", "webhook")


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
    name: str = ""  # queue or topic name for cmq kinds

    @property
    def host(self) -> str:
        if self.kind.startswith("cmq"):
            return self.name
        return urlsplit(self.url).hostname or "?"

    @property
    def label(self) -> str:
        """Safe to print: kind and host, never path, query or secret."""
        return f"{self.kind}#{self.index}({self.host})"

    def secret_values(self) -> List[str]:
        """Every secret-bearing part of this entry, for scrubbing outputs."""
        values = [self.url] if not self.kind.startswith("cmq") else []
        parts = urlsplit(self.url)
        values += [v for _, v in parse_qsl(parts.query) if v]
        values += [seg for seg in parts.path.split("/") if len(seg) >= 16]
        values += [v for v in (parts.username, parts.password) if v]  # https://user:token@host/…
        if self.secret:
            values.append(self.secret)
        return values


def mask_entry(entry: str) -> str:
    """`kind+scheme://host/…` with path, query and fragment hidden."""
    text = entry.strip()
    m = _PREFIX.match(text)
    prefix = m.group(0) if m else ""
    rest = text[len(prefix):]
    try:
        parts = urlsplit(rest)
        host = parts.hostname or ""
        scheme = parts.scheme
    except ValueError:
        return prefix + "<unparseable>"
    if scheme == "cmq":
        return f"{prefix}cmq://{host}/…"
    return f"{prefix}{scheme}://{host}/…" if host else prefix + "<no host>"


def split_entries(value: str) -> List[str]:
    return [e.strip() for e in re.split(r"[,\n]", value or "") if e.strip()]


def _parse_options(fragment: str, where: str) -> dict:
    """`key=value&…` with %-escapes; unlike a query string, `+` stays `+` (base64 secrets)."""
    options: dict = {}
    for item in fragment.split("&"):
        if not item:
            continue
        raw_key, _, raw_val = item.partition("=")
        key, val = unquote(raw_key), unquote(raw_val)
        if key not in _OPTIONS:  # not quoted: a secret pasted without `secret=` lands here
            raise SinkConfigError(f"{where}: unknown option (known: {', '.join(_OPTIONS)})")
        options[key] = val
    return options


#: display names in problems
_PLATFORM = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu", "lark": "Lark", "slack": "Slack",
             "webhook": "the generic webhook", "cmq_queue": "CMQ", "cmq_topic": "CMQ"}


def _ignored_options(kind: str, options: dict, mention_all: bool) -> List[str]:
    """Why each option set (non-empty) in `options` does nothing for `kind`; never quotes a value."""
    name = _PLATFORM[kind]
    reasons: List[str] = []
    if options.get("secret") and kind in ("wecom", "slack", "cmq_queue", "cmq_topic"):
        reasons.append(f"secret= is ignored: {name} messages are not signed, nothing uses the secret")
    if options.get("mention"):
        if kind in ("webhook", "cmq_queue", "cmq_topic"):
            reasons.append(f"mention= is ignored: {name} gets the result document, which has no mentions")
        elif not mention_all and kind in ("feishu", "lark", "slack"):
            reasons.append(f"mention=<mobile> is ignored: {name} robots cannot mention by mobile number, "
                           "only mention=all works")
    if not kind.startswith("cmq"):
        for key in ("region", "endpoint"):
            if options.get(key):
                reasons.append(f"{key}= is ignored: it applies to cmq:// entries only")
    return reasons


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
    text = entry.strip()
    m = _PREFIX.match(text)
    forced = m.group(1).lower() if m else None
    rest = text[m.end():] if m else text
    url, _, fragment = rest.partition("#")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise SinkConfigError(f"{where}: not a valid URL ({exc.__class__.__name__})") from None
    options = _parse_options(fragment, where)
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
    if parts.scheme == "cmq":
        if forced:
            raise SinkConfigError(f"{where}: a cmq:// URL takes no kind prefix")
        kind = {"queue": "cmq_queue", "topic": "cmq_topic"}.get(parts.netloc)
        name = parts.path.strip("/")
        if kind is None or not _CMQ_NAME.match(name):
            raise SinkConfigError(f"{where}: expected cmq://queue/NAME or cmq://topic/NAME")
        endpoint = options.get("endpoint") or None
        if endpoint is not None:
            from sms_receipt_stats.config import parse_endpoint

            try:
                parse_endpoint(endpoint)
            except ValueError as exc:
                raise SinkConfigError(f"{where}: endpoint: {exc}") from None
        spec = SinkSpec(kind=kind, url=url, name=name, region=options.get("region") or None,
                        endpoint=endpoint, **common)
        return spec, _ignored_options(kind, options, mention_all)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SinkConfigError(f"{where}: expected an http(s) URL, a kind+URL or cmq://queue|topic/NAME")
    if parts.scheme == "http" and parts.hostname.lower() in HOST_KINDS:
        raise SinkConfigError(f"{where}: use https:// for {parts.hostname.lower()} (over http:// the robot's "
                              "key would travel in clear text)")
    kind = forced or HOST_KINDS.get(parts.hostname.lower(), "webhook")
    if kind in _SIGNED and "secret" in options and not options["secret"]:
        raise SinkConfigError(f"{where}: secret= is empty: give the signing secret, or drop the option "
                              "(messages would go out unsigned)")
    secret = common["secret"]
    if kind == "webhook" and secret and secret.startswith("whsec_") and not _is_base64(secret[len("whsec_"):]):
        raise SinkConfigError(f"{where}: a whsec_ secret must be followed by base64 (Standard Webhooks)")
    return SinkSpec(kind=kind, url=url, **common), _ignored_options(kind, options, mention_all)


def _is_base64(text: str) -> bool:
    try:
        return bool(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return False


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
