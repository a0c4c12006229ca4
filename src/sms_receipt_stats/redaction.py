"""The one secret-masking mechanism: no configured secret survives in anything the function emits.

Every masking the product does lives here; callers pick the function for what they hold.

Known secrets, two strengths, both matching case-insensitively and in every encoding a
secret travels in: as is, reversed, and in the text as `_views` decodes it (percent-encoding,
JSON escapes, HTML entities, with zero-width characters and soft hyphens dropped). A match in
a decoded view masks the original characters it came from, so the rest of the text is kept
as it was written:

* `redact` / `redact_text` (documents, HTTP bodies, log lines): every whole secret, and any
  leading part of 8 characters or more — a value cut to a few dozen characters shows up as
  its prefix. Spans are found on the original text for all secrets at once and masked
  together, so two secrets sharing a prefix are both masked whole, never half-way.
* `scrub_untrusted` (text written by someone else: upstream error messages, a chat
  platform's error answer): additionally any part of 6 characters or more (a suffix, a
  middle part, split by blanks or new lines), and base64 encodings. When a configured
  secret is shorter than 4 characters it cannot be masked without eating ordinary words,
  so the text is withheld entirely.

Credential-looking text, whoever's it is:

* `mask_credentials`: URLs cut to scheme and host, TC3 `Credential=`/`Signature=` parts,
  `Bearer`/`Basic` tokens, `AKID…` SecretIds, long hex runs and `key=`/`token=`/`secret=`
  style values masked, with no configured secret needed.
* `scrub` (an upstream error message, a chat platform's answer, a sink's failure: anything
  shown to a user or sent to a chat): `scrub_untrusted`, then `mask_credentials`, then cut
  to MAX_MESSAGE_CHARS with `cap_message`.

The product's own messages never quote a configured value that could be a secret (see
`config.shown`): masking is the second line of defence, not the first.

Secrets that are URLs (`scheme://…`: a robot URL is its own secret) are matched whole only: their prefix
is `https://` plus a host, which every hint may contain; their secret parts (key, token,
long path segments) are configured secrets of their own.
"""

from __future__ import annotations

import base64
import json
import re
from bisect import bisect_right
from functools import lru_cache
from typing import AbstractSet, Any, Iterable, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import quote, quote_plus

from sms_receipt_stats.text import shorten

MASK = "***"
#: shorter secrets are never matched (they would eat ordinary words); untrusted text is withheld
MIN_SECRET = 4
#: shortest leading part of a secret masked on its own, everywhere
MIN_PREFIX = 8
#: shortest part of a secret masked on its own in untrusted text
MIN_FRAGMENT = 6
WITHHELD = "(message withheld: a configured secret is too short to be masked reliably)"

Span = Tuple[int, int]


def prepare(secrets: Iterable[str]) -> List[str]:
    """Distinct secrets of MIN_SECRET characters or more, longest first."""
    return sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET}, key=len, reverse=True)


def has_short_secret(secrets: Iterable[str]) -> bool:
    """True when a configured (non-blank) secret is too short to be matched."""
    return any(isinstance(s, str) and s.strip() and len(s) < MIN_SECRET for s in secrets)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _is_url(secret: str) -> bool:
    """A secret that is a URL (`scheme://…`, a robot URL): matched whole only."""
    return _URL.match(secret) is not None


def _fold(text: str) -> str:
    """Lower case, one character for one (so positions in the folded text are positions in `text`)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@lru_cache(maxsize=4096)
def _forms(secret: str) -> Tuple[str, ...]:
    """The folded spellings a secret travels in: as is, reversed, with `+` for its spaces (a
    query string's), JSON-escaped, URL-encoded (the decoded views of the text catch the other
    encodings, and these when mixed)."""
    forms = {
        secret,
        secret[::-1],
        secret.replace(" ", "+"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret, safe="/:"),
        quote_plus(secret, safe=""),
    }
    return tuple(sorted({_fold(f) for f in forms if len(f) >= MIN_SECRET}, key=len, reverse=True))


def _base64_inner(secret: str) -> List[str]:
    """The base64 characters that depend on the secret alone, at each of the 3 byte alignments
    (a secret inside a longer encoded value, e.g. `user:secret` in Basic auth), standard and URL-safe."""
    data = secret.encode("utf-8", "surrogatepass")
    inner = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data).decode("ascii")
        part = encoded[-(-8 * pad // 6): 8 * (pad + len(data)) // 6]
        inner += [part, part.replace("+", "-").replace("/", "_")]
    return inner


@lru_cache(maxsize=4096)
def _fragment_forms(secret: str) -> Tuple[str, ...]:
    """Folded forms, without blanks, whose parts count in untrusted text (URL secrets: none)."""
    if _is_url(secret):
        return ()
    forms = {"".join(f.split()) for f in _forms(secret)}
    forms.update(_fold(b) for b in _base64_inner(secret))
    return tuple(f for f in forms if f)


def _occurrences(text: str, needle: str) -> Iterable[int]:
    start = text.find(needle)
    while start >= 0:
        yield start
        start = text.find(needle, start + 1)


def _prefix_spans(folded: str, secrets: Sequence[str]) -> List[Span]:
    """Every whole form, and every leading part of MIN_PREFIX+ characters of a form, in `folded`."""
    spans: List[Span] = []
    for secret in secrets:
        whole_only = _is_url(secret)
        for form in _forms(secret):
            if whole_only or len(form) <= MIN_PREFIX:
                spans += [(i, i + len(form)) for i in _occurrences(folded, form)]
                continue
            for i in _occurrences(folded, form[:MIN_PREFIX]):
                j = MIN_PREFIX
                while j < len(form) and i + j < len(folded) and folded[i + j] == form[j]:
                    j += 1
                spans.append((i, i + j))
    return spans


@lru_cache(maxsize=64)
def _fragment_table(secrets: Tuple[str, ...]) -> Tuple[frozenset, Tuple[str, ...]]:
    """Every MIN_FRAGMENT-character part of the secrets' fragment forms, and the forms shorter
    than that (matched whole)."""
    grams: set = set()
    short: List[str] = []
    for secret in secrets:
        for form in _fragment_forms(secret):
            if len(form) < MIN_FRAGMENT:
                short.append(form)
            else:
                grams.update(form[k:k + MIN_FRAGMENT] for k in range(len(form) - MIN_FRAGMENT + 1))
    return frozenset(grams), tuple(short)


def _fragment_spans(folded: str, secrets: Sequence[str]) -> List[Span]:
    """Any MIN_FRAGMENT-character part of a secret (or of its base64), found with blanks removed
    from the text; spans are in `folded`'s positions and cover the blanks in between."""
    index = [i for i, c in enumerate(folded) if not c.isspace()]
    compact = "".join(folded[i] for i in index)
    grams, short = _fragment_table(tuple(secrets))
    spans: List[Span] = []
    if grams:
        for k in range(len(compact) - MIN_FRAGMENT + 1):
            if compact[k:k + MIN_FRAGMENT] in grams:
                spans.append((index[k], index[k + MIN_FRAGMENT - 1] + 1))
    for form in short:
        spans += [(index[k], index[k + len(form) - 1] + 1) for k in _occurrences(compact, form)]
    return spans


# ---------------------------------------------------------------------------------------------
# Normalisation: the text as a reader (or a browser, a JSON parser, a URL decoder) would see it.
# ---------------------------------------------------------------------------------------------
#: one token of an encoding: a run of %XX, a run of \uXXXX, another JSON escape, an HTML
#: character reference, or a run of invisible characters (zero-width, soft hyphen, BOM)
_TOKEN = re.compile(
    r"(?P<pct>%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*)"
    r"|(?P<uni>\\u[0-9A-Fa-f]{4}(?:\\u[0-9A-Fa-f]{4})*)"
    r"|\\(?P<esc>[\"\\/bfnrt])"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?)"
    r"|(?P<gap>[\u00ad\u200b-\u200d\u2060\ufeff]+)"
)
#: the first characters of a token: a plain character class is scanned fast, the alternation is not
_TRIGGER = re.compile(r"[%\\&\u00ad\u200b-\u200d\u2060\ufeff]")
_JSON_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
#: decoding rounds: nested encodings (`%2541`, `&#37;41`, `%5Cu0041`) lose one layer a round
MAX_ROUNDS = 3
#: a piece of a view: (position in the view, length there, position in the source, length there)
Piece = Tuple[int, int, int, int]


class _View:
    """A decoded copy of a text, with where each of its characters came from.

    Characters outside `pieces` map one for one (shifted); a piece's characters all map to the
    whole token they were decoded from, so a masked span never cuts an escape in half.
    """

    def __init__(self, text: str, pieces: List[Piece], parent: Optional[_View]) -> None:
        self.text = text
        self.pieces = pieces
        self.starts = [p[0] for p in pieces]
        self.parent = parent

    def _char(self, c: int) -> Span:
        i = bisect_right(self.starts, c) - 1
        if i < 0:
            return c, c + 1
        at, length, src, src_length = self.pieces[i]
        if c < at + length:
            return src, src + src_length
        shifted = src + src_length + c - at - length
        return shifted, shifted + 1

    def source(self, span: Span) -> Span:
        """`span` of this view as a span of the original text."""
        view: Optional[_View] = self
        start, end = span
        while view is not None and view.parent is not None:
            start, end = view._char(start)[0], view._char(end - 1)[1]
            view = view.parent
        return start, end


def _percent(token: str, at: int) -> Iterable[Tuple[int, int, str]]:
    """(offset, length, text) for each UTF-8 character of a run of %XX; bytes that are not
    UTF-8 stay as written."""
    data = bytes.fromhex(token.replace("%", ""))
    i = 0
    while i < len(data):
        lead = data[i]
        size = 1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4 if lead >> 3 == 30 else 0
        try:
            char = data[i:i + size].decode("utf-8") if size and i + size <= len(data) else ""
        except UnicodeDecodeError:
            char = ""
        if char:
            yield at + 3 * i, 3 * size, char
            i += size
        else:
            yield at + 3 * i, 3, token[3 * i:3 * i + 3]
            i += 1


def _units(token: str, at: int) -> Iterable[Tuple[int, int, str]]:
    """(offset, length, text) for each character of a run of \\uXXXX (surrogate pairs joined)."""
    codes = [int(token[k + 2:k + 6], 16) for k in range(0, len(token), 6)]
    i = 0
    while i < len(codes):
        code = codes[i]
        if 0xD800 <= code < 0xDC00 and i + 1 < len(codes) and 0xDC00 <= codes[i + 1] < 0xE000:
            yield at + 6 * i, 12, chr(0x10000 + ((code - 0xD800) << 10) + codes[i + 1] - 0xDC00)
            i += 2
        else:
            yield at + 6 * i, 6, chr(code)
            i += 1


def _tokens(text: str) -> Iterator[re.Match[str]]:
    """`_TOKEN`'s matches in `text`, tried only where `_TRIGGER` finds a first character (a
    page's CSS `100%` costs one failed match each; scanning with `_TOKEN` alone is 10-50x slower)."""
    pos = 0
    while True:
        hit = _TRIGGER.search(text, pos)
        if hit is None:
            return
        match = _TOKEN.match(text, hit.start())
        if match is None:
            pos = hit.start() + 1
        else:
            yield match
            pos = match.end()


def _decode(text: str) -> Tuple[str, List[Piece], bool]:
    """One round of decoding: every token of `_TOKEN` replaced by what it stands for; and
    whether another round could find more (a token produced a token's first character, or
    dropped characters that may have split one)."""
    out: List[str] = []
    pieces: List[Piece] = []
    last = 0
    size = 0  # length of the view so far
    again = False
    for match in _tokens(text):
        start, end = match.span()
        out.append(text[last:start])
        size += start - last
        last = end
        kind = match.lastgroup
        if kind == "pct":
            parts: Iterable[Tuple[int, int, str]] = _percent(match.group(), start)
        elif kind == "uni":
            parts = _units(match.group(), start)
        elif kind == "esc":
            parts = [(start, 2, _JSON_ESCAPES[match.group("esc")])]
        elif kind == "ent":
            import html  # html.entities is a 2,000-name table: cold start does not load it

            parts = [(start, end - start, html.unescape(match.group()))]
        else:
            parts = [(start, end - start, "")]
        for src, src_length, char in parts:
            out.append(char)
            if char != text[src:src + src_length]:  # else not decoded after all (`%FF`, `&unknown;`)
                pieces.append((size, len(char), src, src_length))
                again = again or not char or _TRIGGER.search(char) is not None
            size += len(char)
    out.append(text[last:])
    return "".join(out), pieces, again


def _views(text: str) -> List[_View]:
    """`text` as written, then decoded once, twice...: while a round decodes something that
    may hide another layer, up to MAX_ROUNDS. Every view is searched: a secret that itself
    contains `%41` is found in the view that decoded one layer fewer."""
    views = [_View(text, [], None)]
    again = _TRIGGER.search(text) is not None
    while again and len(views) <= MAX_ROUNDS:
        decoded, pieces, again = _decode(views[-1].text)
        if not pieces:
            break
        views.append(_View(decoded, pieces, views[-1]))
    return views


@lru_cache(maxsize=64)
def _reach(secrets: Tuple[str, ...]) -> int:
    """The longest form of any of the secrets: how far a match can reach from a decoded piece."""
    return max((len(f) for secret in secrets for f in _forms(secret)), default=0)


def _windows(view: _View, reach: int) -> List[Span]:
    """The parts of a decoded view within `reach` of something decoding changed, merged. A match
    elsewhere is the same characters as in the view before, and was found there."""
    merged: List[Span] = []
    for at, length, _, _ in view.pieces:
        start, end = max(0, at - reach), min(len(view.text), at + length + reach)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _spans(text: str, secrets: Sequence[str], untrusted: bool) -> List[Span]:
    """Where the secrets are in `text`, in any of its decoded views: prefixes (and, in
    untrusted text, fragments), as spans of `text` itself. The one matcher of this module.

    A decoded view is searched only near what decoding changed (`_windows`), so a page with a
    few entities costs little more than the page as written; untrusted text, already cut to
    _SCAN_CHARS, is searched whole for fragments (blanks may separate a fragment's characters).
    """
    views = _views(text)
    folded = _fold(text)
    spans = _prefix_spans(folded, secrets)
    if untrusted:
        spans += _fragment_spans(folded, secrets)
    if len(views) == 1:
        return spans
    reach = _reach(tuple(secrets))
    for view in views[1:]:
        for start, end in _windows(view, reach):
            found = _prefix_spans(_fold(view.text[start:end]), secrets)
            spans += [view.source((s + start, e + start)) for s, e in found]
        if untrusted:
            spans += [view.source(span) for span in _fragment_spans(_fold(view.text), secrets)]
    return spans


def _mask(text: str, spans: List[Span]) -> str:
    """`text` with the union of `spans` replaced, one MASK per connected run."""
    if not spans:
        return text
    out: List[str] = []
    last = 0
    start, end = -1, -1
    for s, e in sorted(spans):
        if s > end:
            if end >= 0:
                out += [text[last:start], MASK]
                last = end
            start, end = s, e
        else:
            end = max(end, e)
    out += [text[last:start], MASK, text[end:]]
    return "".join(out)


def redact_text(text: str, secrets: List[str]) -> str:
    """`text` with every secret (see `prepare`), in any of its forms and any case, masked
    whole, and any leading part of MIN_PREFIX+ characters masked too."""
    if not secrets or not text:
        return text
    return _mask(text, _spans(text, secrets, untrusted=False))


def scrub_untrusted(text: str, secrets: Iterable[str]) -> str:
    """Text someone else wrote (an upstream message), safe to show: everything `redact_text`
    masks, plus any part of MIN_FRAGMENT+ characters of a secret, split by blanks, upper-cased
    or base64-encoded. Withheld entirely when a configured secret is shorter than MIN_SECRET."""
    raw = [s for s in secrets if isinstance(s, str)]
    if not text:
        return text
    if has_short_secret(raw):
        return WITHHELD
    usable = prepare(raw)
    if not usable:
        return text
    return _mask(text, _spans(text, usable, untrusted=True))


def redact(value: Any, secrets: List[str], keep: AbstractSet[str] = frozenset()) -> Any:
    """`value` (JSON-like: str, dict, list, scalars) with every secret, or its prefix, masked.

    Keys and the strings in `keep` (a document's own vocabulary: its schema, kinds, rules,
    severities) are left as they are, so masking never breaks a document's shape. Walked with
    an explicit stack, so no nesting depth can make it raise.
    """
    if not secrets:
        return value
    root = [value]
    stack: List[Tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str):
            if item not in keep:
                container[key] = redact_text(item, secrets)
        elif isinstance(item, dict):
            copy = dict(item)
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, (list, tuple)):
            copy_list = list(item)
            container[key] = copy_list
            stack.extend((copy_list, i) for i in range(len(copy_list)))
    return root[0]


# ---------------------------------------------------------------------------------------------
# Credential-looking text, and the whole treatment of a message someone else wrote.
# ---------------------------------------------------------------------------------------------
MAX_MESSAGE_CHARS = 500
#: patterns run on a bounded prefix only, so a huge error body (an HTML page) stays cheap
_SCAN_CHARS = 8 * MAX_MESSAGE_CHARS
_WORD = r"A-Za-z0-9_.\-"
#: a `name=value` whose name contains one of these has its value masked
_SENSITIVE_WORDS = ("token", "key", "sign", "secret", "password", "passwd", "pwd", "credential")


@lru_cache(maxsize=1)
def _credential_patterns() -> Tuple[Tuple[Tuple[re.Pattern[str], str], ...], re.Pattern[str]]:
    """The patterns of `mask_credentials`, compiled on first use: `import handler` and a run
    without failures never pay for them."""
    patterns = (
        # URLs: keep scheme and host; drop userinfo, path, query and fragment, which carry keys
        # (WeCom '?key=', DingTalk '?access_token=', Slack/Feishu hook paths, '#secret=').
        (
            re.compile(
                r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://)(?:[^\s/?#@\"'<>]*@)?([^\s/?#\"'<>]+)[/?#][^\s\"'<>]*"
            ),
            r"\1\2/" + MASK,
        ),
        # TC3 Authorization header parts.
        (re.compile(r"(?i)\b(Credential=)[^\s,;&\"']+"), r"\1" + MASK),
        (re.compile(r"(?i)\b(Signature=)[^\s,;&\"']+"), r"\1" + MASK),
        # Bearer / Basic tokens.
        (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + MASK),
        # Tencent Cloud SecretIds and long hex runs (signatures, keys).
        (re.compile(r"AKID[0-9A-Za-z]{12,}"), "AKID" + MASK),
        (re.compile(r"\b[0-9a-fA-F]{40,}\b"), MASK),
    )
    # name=value, name: value, "name": "value"; the name is checked in Python (no backtracking).
    assignment = re.compile(r"(?<![" + _WORD + r"])([" + _WORD + r"]+)(\"?\s*[:=]\s*\"?)([^\s\"'&,;}#]+)")
    return patterns, assignment


def _mask_assignment(match: re.Match[str]) -> str:
    name = match.group(1).lower()
    if any(word in name for word in _SENSITIVE_WORDS) and match.group(3) != MASK:
        return match.group(1) + match.group(2) + MASK
    return match.group(0)


def mask_credentials(text: str) -> str:
    """`text` with anything credential-looking masked (no configured secret needed): URLs cut
    to scheme and host, TC3 signature parts, bearer tokens, SecretIds, long hex, `key=` values."""
    patterns, assignment = _credential_patterns()
    for pattern, repl in patterns:
        text = pattern.sub(repl, text)
    return assignment.sub(_mask_assignment, text)


def cap_message(text: str) -> str:
    """`text` cut to MAX_MESSAGE_CHARS, with a visible ellipsis when cut."""
    return shorten(text, MAX_MESSAGE_CHARS)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets and anything credential-like from ``text`` (someone else's: an upstream
    message, a platform's error answer) and cap it at MAX_MESSAGE_CHARS, so it can go to logs,
    chats and HTTP bodies safely: `scrub_untrusted` (any part of a secret, in any form; the
    whole text withheld when a configured secret is too short to mask), then `mask_credentials`."""
    out = "" if text is None else str(text)
    # cut first, so a huge body stays cheap; the output is far shorter than the cut anyway
    out = scrub_untrusted(out[:_SCAN_CHARS], list(secrets or ()))
    return cap_message(mask_credentials(out))
