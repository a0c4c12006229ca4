"""Secret masking against generated secrets: shared prefixes, mixed case, JSON-special characters,
short ones; quoted whole, re-cased, escaped, encoded, cut, split or base64-encoded.

Three layers, each checked on its own and then together through `app.handle`:

* configuration issues never quote a value that could be a secret (whatever was pasted where);
* documents, HTTP bodies, log lines and what the sinks receive hold no secret, in any case or
  encoding, whole or as a leading part of 8+ characters;
* upstream text (error messages) holds no part of 6+ characters of a secret, however split,
  re-cased or encoded, and is withheld whole when a configured secret is too short to mask.
"""

from __future__ import annotations

import base64
import contextlib
import html
import html.entities
import json
import re
import tempfile
from typing import Any, Dict, Iterable, List, Tuple
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from sms_receipt_stats import redaction
from sms_receipt_stats.app import handle
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.links import LINK_SECRET_MIN
from sms_receipt_stats.redaction import scrub
from sms_receipt_stats.vocabulary import VOCABULARY
from strategies import SECRET_ALPHABET, leaked_forms, secret_sets
from support import (
    API_TOKEN,
    APP_PROD,
    APP_STAGING,
    HEALTHY_STATS,
    FakeFetcher,
    RecordingDeliver,
    check_http_response,
    check_result_document,
    fake_deps,
    log_lines,
    plain_env,
    property_settings,
    read_event,
    stats_event,
    strict_stdio,
)

PREFIX = 8  # a leading part this long is a leak anywhere
FRAGMENT = 6  # any part this long is a leak in upstream text
NUMBER_LIKE = re.compile(r"^[-+]?[0-9.][0-9.eE+-]{0,23}$")
#: the characters a valid value of a region, time zone, language, number or API_AUTH is made of
VALUE_LIKE = re.compile(r"^[A-Za-z0-9_.:/+\-]*$")


# ---------------------------------------------------------------------------------------------
# Oracles, written from the promise (SECURITY.md), not from the implementation
# ---------------------------------------------------------------------------------------------
def spellings(secret: str) -> List[str]:
    """A secret as it can travel: as is, JSON-escaped, URL-encoded; lower-cased for comparison."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote(secret, safe="/:")}
    return [f.lower() for f in forms]


#: a secret that is a URL (`scheme://…`, a robot URL) is promised whole only: its leading part is
#: a scheme and a host, which hints name too; its key, token and long path parts are secrets of their own
URL_SECRET = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def document_leaks(text: str, secrets: Iterable[str]) -> List[str]:
    """Secrets (4+ characters) found whole, or by a leading part of PREFIX characters, in any
    spelling and any case."""
    low = text.lower()
    found = []
    for secret in secrets:
        if len(secret) < redaction.MIN_SECRET:
            continue
        whole = URL_SECRET.match(secret) is not None
        if any((form if whole or len(form) <= PREFIX else form[:PREFIX]) in low for form in spellings(secret)):
            found.append(secret)
    return found


def base64_inner(secret: str) -> List[str]:
    """The base64 characters that encode the secret's bits alone, at each byte alignment."""
    data = secret.encode("utf-8")
    out = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data).decode()
        first = (8 * pad + 5) // 6  # first character whose 6 bits are all the secret's
        last = 8 * (pad + len(data)) // 6  # one past the last such character
        out += [encoded[first:last], encoded[first:last].replace("+", "-").replace("/", "_")]
    return out


def fragment_leaks(text: str, secrets: Iterable[str]) -> List[str]:
    """Secrets with a part of FRAGMENT+ characters in `text`, blanks removed, any case, also in
    base64."""
    compact = "".join(text.split()).lower()
    found = []
    for secret in secrets:
        if len(secret) < redaction.MIN_SECRET:
            continue
        if URL_SECRET.match(secret):
            found += document_leaks(text, [secret])
            continue
        forms = ["".join(f.split()) for f in spellings(secret)] + [b.lower() for b in base64_inner(secret)]
        for form in forms:
            if len(form) < FRAGMENT:
                hit = form in compact if len(form) >= redaction.MIN_SECRET else False
            else:
                hit = any(form[k:k + FRAGMENT] in compact for k in range(len(form) - FRAGMENT + 1))
            if hit:
                found.append(secret)
                break
    return found


def strings(value: Any) -> Iterable[str]:
    """Every string value in a JSON-like value, but for the documents' own words (keys, schema,
    kinds, rules, severities): a secret that happens to start like one of those cannot be
    hidden without breaking the document, and showing a word of the schema reveals nothing."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item not in VOCABULARY:
                yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def error_messages(value: Any) -> Iterable[str]:
    """The `message` of every error object (where upstream text lands) in a JSON-like value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("message"), str) and {"code", "hint", "retryable"} <= set(item):
                yield item["message"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# ---------------------------------------------------------------------------------------------
# 1. The mechanism
# ---------------------------------------------------------------------------------------------
document_form = st.sampled_from(["whole", "recased", "json", "url", "prefix"])


@st.composite
def quoted_in_documents(draw: Any) -> Tuple[List[str], str]:
    """Secrets, and a text quoting some of them the ways our own outputs could."""
    secrets = draw(secret_sets(allow_short=False))
    filler = st.text(st.sampled_from(SECRET_ALPHABET + " \n"), max_size=12)
    parts = [draw(filler)]
    for secret in draw(st.lists(st.sampled_from(secrets), min_size=1, max_size=6)):
        kind = draw(document_form)
        if kind == "whole":
            quoted = secret
        elif kind == "recased":
            quoted = "".join(c.swapcase() if draw(st.booleans()) else c for c in secret)
        elif kind == "json":
            quoted = json.dumps(secret)[1:-1]
        elif kind == "url":
            quoted = quote(secret, safe="")
        else:
            quoted = secret[: draw(st.integers(PREFIX, len(secret)))]
        parts += [quoted, draw(filler)]
    return secrets, "".join(parts)


@property_settings(500)
@given(case=quoted_in_documents())
def test_documents_lose_every_secret_and_every_leading_part(case: Tuple[List[str], str], tally: Any) -> None:
    tally["cases:secrets: generated, masked in documents"] += 1
    secrets, text = case
    out = redaction.redact_text(text, redaction.prepare(secrets))
    assert document_leaks(out, secrets) == [], (text, out)
    assert redaction.redact({"k": [text]}, redaction.prepare(secrets)) == {"k": [out]}


@st.composite
def quoted_upstream(draw: Any) -> Tuple[List[str], str]:
    secrets = draw(secret_sets())
    filler = st.text(st.sampled_from(SECRET_ALPHABET + " \n"), max_size=12)
    parts = [draw(filler)]
    for secret in draw(st.lists(st.sampled_from(secrets), min_size=1, max_size=5)):
        parts += [draw(leaked_forms(secret)), draw(filler)]
    return secrets, "".join(parts)


@property_settings(500)
@given(case=quoted_upstream())
def test_upstream_text_loses_every_part_of_every_secret(case: Tuple[List[str], str], tally: Any) -> None:
    tally["cases:secrets: generated, scrubbed from upstream text"] += 1
    secrets, text = case
    out = scrub(text, secrets)
    if any(len(s) < redaction.MIN_SECRET for s in secrets):
        assert out == redaction.WITHHELD
        return
    assert fragment_leaks(out, secrets) == [], (text, out)
    assert document_leaks(out, secrets) == []


# ---------------------------------------------------------------------------------------------
# 2. Configuration issues quote nothing that could be a secret
# ---------------------------------------------------------------------------------------------
PASTE_TARGETS = ("SMS_REGION", "TENCENTCLOUD_REGION", "SMS_ENDPOINT", "SMS_SDK_APP_IDS", "SMS_API_RPS",
                 "REPORT_TIMEZONE", "REPORT_LANG", "API_AUTH", "API_ALLOWED_APP_IDS", "ALERT_SUCCESS_RATE_MIN",
                 "ALERT_SUCCESS_RATE_CRITICAL", "ALERT_RECEIPT_RATE_MIN", "ALERT_MIN_VOLUME")
REFERENCE_VALUE = "Zq9-not-a-value-Xw7"


def grams(text: str) -> set:
    return {text[k:k + FRAGMENT] for k in range(len(text) - FRAGMENT + 1)}


def issue_text(env: Dict[str, str]) -> str:
    return " ".join(str(i) for i in load_settings(env)[1]).lower()


@property_settings(300)
@given(secret=st.text(st.sampled_from(SECRET_ALPHABET), min_size=6, max_size=40).filter(
    lambda s: not NUMBER_LIKE.match(s.strip()) and len(set(s)) >= 4), target=st.sampled_from(PASTE_TARGETS),
    recase=st.booleans())
def test_a_secret_pasted_into_any_variable_is_never_quoted(secret: str, target: str, recase: bool,
                                                           tally: Any) -> None:
    tally["cases:secrets: pasted into a non-secret variable"] += 1
    value = secret.swapcase() if recase else secret
    reference = grams(issue_text({target: REFERENCE_VALUE}))
    text = issue_text({target: value})
    leaked = grams(secret.lower()) & grams(text) - reference
    assert not leaked, (target, value, text)


# ---------------------------------------------------------------------------------------------
# 3. Through the handler: outputs, logs, sinks
# ---------------------------------------------------------------------------------------------
@st.composite
def secret_world(draw: Any) -> Tuple[List[str], Dict[str, str], str]:
    """Generated secrets configured as API tokens and a signing secret, pasted into non-secret
    variables, and quoted by the upstream API's error message in any form."""
    secrets = draw(secret_sets())
    long = [s for s in secrets if len(s) >= 8]
    env = plain_env(
        API_TOKENS=",".join([API_TOKEN, *secrets]),
        NOTIFY_URLS=f"webhook+https://hooks.example.com/h#secret={quote(long[-1], safe='')}",
        API_AUTH="".join(c.swapcase() if draw(st.booleans()) else c for c in long[0]),
        REPORT_LANG=long[-1].upper(),
        SMS_REGION=long[0],
        REPORT_TIMEZONE=long[-1],
        SMS_API_RPS=long[0],
        ALERT_MIN_VOLUME=long[-1],
        SMS_SDK_APP_IDS=f"{APP_PROD}=prod,{APP_STAGING}=staging,{long[0]}",
    )
    message = "upstream refused: " + " | ".join(draw(leaked_forms(s)) for s in secrets)
    return secrets, env, message


@property_settings(150)
@given(world=secret_world())
def test_no_generated_secret_reaches_outputs_logs_or_sinks(world: Tuple[List[str], Dict[str, str], str],
                                                           tally: Any) -> None:
    tally["cases:secrets: generated, through the handler"] += 1
    secrets, env, message = world
    long = [s for s in secrets if len(s) >= 8]
    fetcher = FakeFetcher(HEALTHY_STATS)
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message=message)
    deliver = RecordingDeliver(needs_sinks=True)
    outputs: List[Any] = []
    with strict_stdio() as stdio:
        doc = handle(read_event("timer_default"), {"request_id": "gen-secrets"}, env=env,
                     deps=fake_deps(fetcher, deliver))
        check_result_document(doc)
        outputs.append(doc)
        for app in (APP_PROD, APP_STAGING):
            resp = handle(stats_event({"app_id": app, "window": "yesterday"}, token=long[0]), None, env=env,
                          deps=fake_deps(fetcher))
            status, body = check_http_response(resp)
            assert status == (502 if app == APP_PROD else 200), body
            outputs.append(body)
    records = log_lines(stdio.out())
    assert stdio.err() == ""
    assert len(deliver.docs) == 1

    places = {"results": outputs, "logs": records, "sinks": deliver.docs}
    for where, value in places.items():
        for text in strings(value):
            assert document_leaks(text, secrets) == [], (where, text)
    upstream = [m for place in (outputs, deliver.docs) for m in error_messages(place)]
    assert upstream, "the upstream error reached the outputs"
    for text in upstream:
        if any(len(s) < redaction.MIN_SECRET for s in secrets):
            assert text == redaction.WITHHELD
        else:
            assert fragment_leaks(text, secrets) == [], text
    # the pasted values were noticed, and said so without quoting them; a secret made only of the
    # characters these variables' values use (`ap-chengdu`, `12345678`: hypothesis also draws the
    # literals of the product's source) may be a valid value, and then nothing is wrong to notice
    noticed = {e.split(":", 1)[0] for e in doc["errors"]}
    pasted = {"API_AUTH", "REPORT_LANG", "SMS_REGION", "REPORT_TIMEZONE", "SMS_API_RPS", "ALERT_MIN_VOLUME"}
    assert {v for v in pasted if not VALUE_LIKE.match(env[v])} <= noticed, doc["errors"]
    if not VALUE_LIKE.match(long[0]):
        assert "SMS_SDK_APP_IDS" in noticed, doc["errors"]


# ---------------------------------------------------------------------------------------------
# 4. Every kind of secret, quoted by the upstream in every encoding, through every output
# ---------------------------------------------------------------------------------------------
INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\([\"\\/])")
#: a name for each character that has one in HTML (the shortest), e.g. `&colon;`, `&lt;`
_HTML_NAMES: Dict[str, str] = {}
for _name, _char in sorted(html.entities.html5.items(), key=lambda item: (len(item[0]), item[0])):
    if _name.endswith(";") and len(_char) == 1:
        _HTML_NAMES.setdefault(_char, _name)


def _json_unescape(text: str) -> str:
    out = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), text)
    return out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # joins surrogate pairs


def readings(text: str) -> List[str]:
    """`text` as each reader of it may decode it: a browser (HTML entities), a URL decoder (with
    `+` as a space or not), a JSON parser, with invisible characters dropped; nested up to three
    layers deep; and each of those reversed. Written from the promise, not the implementation."""
    decoders = (html.unescape, unquote, unquote_plus, _json_unescape, lambda s: INVISIBLE.sub("", s))
    seen = {text}
    frontier = [text]
    for _ in range(3):
        frontier = [out for t in frontier for out in {d(t) for d in decoders} if out not in seen]
        seen.update(frontier)
    return [*seen, *(t[::-1] for t in seen)]


def encoded_leaks(text: str, secrets: Iterable[str]) -> List[str]:
    """`document_leaks` in any reading of `text`."""
    return sorted({s for reading in readings(text) for s in document_leaks(reading, secrets)})


def _every(text: str, step: int, encode: Any) -> str:
    return "".join(encode(c) if k % step == 0 else c for k, c in enumerate(text))


def _pct(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8"))


def _uni(char: str) -> str:
    """`char` as JSON's \\uXXXX (a surrogate pair beyond the BMP)."""
    units = char.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[k:k + 2], 'big'):04x}" for k in range(0, len(units), 2))


#: how an upstream message (a proxy's echo of a request, an HTML error page, a JSON body) may
#: quote a secret
ENCODINGS: Dict[str, Any] = {
    "percent, every byte": lambda s: "".join(_pct(c) for c in s),
    "percent, lower-case hex": lambda s: "".join(_pct(c) for c in s).lower(),
    "percent, every other character": lambda s: _every(s, 2, _pct),
    "percent, + for a space": lambda s: quote_plus(s, safe=""),
    "percent, twice": lambda s: "".join(_pct(c) for c in "".join(_pct(c) for c in s)),
    "json \\u, every character": lambda s: "".join(_uni(c) for c in s),
    "json \\u, every third": lambda s: _every(s, 3, _uni).replace("/", "\\/"),
    "html decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html hex": lambda s: "".join(f"&#x{ord(c):X};" for c in s),
    "html named": lambda s: "".join(f"&{_HTML_NAMES[c]}" if c in _HTML_NAMES else f"&#{ord(c)};" for c in s),
    "zero-width split": lambda s: "".join(c + "\u200b\u200c\u200d\u2060\ufeff"[k % 5] for k, c in enumerate(s)),
    "soft-hyphen split": lambda s: "\u00ad".join(s),
    "reversed": lambda s: s[::-1],
    "percent inside json": lambda s: "".join(_uni(c) for c in "".join(_pct(c) for c in s)),
}
ROBOT_BASE = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
#: each secret-bearing setting: (its variables for a secret, what the upstream quotes of it)
SECRET_KINDS: Dict[str, Any] = {
    "SecretKey": lambda s: ({"TENCENTCLOUD_SECRETKEY": s}, s),
    "session token": lambda s: ({"TENCENTCLOUD_SESSIONTOKEN": s}, s),
    "API token": lambda s: ({"API_TOKENS": f"{API_TOKEN},{s}"}, s),
    "LINK_SECRET": lambda s: ({"LINK_SECRET": s}, s),
    "webhook secret": lambda s: ({"NOTIFY_URLS": f"webhook+https://hooks.example.com/h#secret={quote(s, safe='')}"},
                                 s),
    # a proxy echoing the request URL: the robot's key is in its query
    "robot key in a URL query": lambda s: ({"NOTIFY_URLS": f"wecom+{ROBOT_BASE}{s}"}, ROBOT_BASE + s),
}
URL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"


def secret_of(kind: str) -> Any:
    """A generated secret the kind's variable accepts (a robot key is URL-safe, a LINK_SECRET
    has LINK_SECRET_MIN characters: see the test below for a shorter one)."""
    alphabet = URL_SAFE if kind == "robot key in a URL query" else SECRET_ALPHABET
    return st.text(st.sampled_from(alphabet), min_size=LINK_SECRET_MIN, max_size=32).filter(
        lambda s: len(set(s)) >= 6 and not NUMBER_LIKE.match(s) and sum(c.isascii() and c.isalnum() for c in s) >= 6
        and not any(s[:PREFIX].lower() in word.lower() for word in VOCABULARY))  # a key of the store's JSON


def store_texts(path: str) -> List[str]:
    """Every text cell of every table of a SQLite state store."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [str(cell) for t in tables for row in db.execute(f'SELECT * FROM "{t}"') for cell in row
                if isinstance(cell, (str, bytes))]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("kind", sorted(SECRET_KINDS))
@settings(property_settings(1), phases=[Phase.explicit, Phase.generate])  # a failure is shown unshrunk: 3 runs a try
@given(data=st.data())
def test_an_encoded_secret_in_an_upstream_message_reaches_no_output(kind: str, encoding: str, data: Any,
                                                                    tally: Any) -> None:
    tally["cases:secrets: every kind x every encoding, upstream echo through every output"] += 1
    secret = data.draw(secret_of(kind), label="secret")
    variables, quoted = SECRET_KINDS[kind](secret)
    message = f"proxy refused GET /v1?q={ENCODINGS[encoding](quoted)} (upstream said so)"
    with tempfile.TemporaryDirectory() as tmp:
        env = plain_env(**{"NOTIFY_URLS": "https://hooks.example.com/h", "PUBLIC_URL": "https://fn.example.com",
                           "STATE_URL": f"sqlite:///{tmp}/state.db", "STATE_PREFIX": "t:", **variables})
        fetcher = FakeFetcher(HEALTHY_STATS)
        fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message=message)
        deliver = RecordingDeliver(needs_sinks=True)
        with strict_stdio() as stdio:
            doc = handle(read_event("timer_default"), {"request_id": "encoded"}, env=env,
                         deps=fake_deps(fetcher, deliver))
            lookup = handle(stats_event({"app_id": APP_PROD, "window": "yesterday"}), None, env=env,
                            deps=fake_deps(fetcher))
            page_event = read_event("function_url_get_dashboard")
            page_event["queryString"] = {"app_id": APP_PROD, "window": "last_7d"}
            page = handle(page_event, None, env=env, deps=fake_deps(fetcher))
        stored = store_texts(f"{tmp}/state.db")
    assert lookup["statusCode"] == 502 and page["statusCode"] == 502, (lookup["body"][:300], page["body"][:300])
    assert len(deliver.docs) == 1 and stdio.err() == ""
    places = {"result": "\n".join(strings(doc)), "logs": stdio.out(), "sinks": "\n".join(strings(deliver.docs)),
              "store": "\n".join(stored), "lookup body": lookup["body"], "dashboard": page["body"]}
    assert stored, "the run wrote to the store"
    for where, text in places.items():
        assert encoded_leaks(text, [secret]) == [], (where, message, text[:2000])
    # the upstream's words around the secret still reach the user
    assert "upstream said so" in lookup["body"] and "upstream said so" in page["body"]


def test_a_link_secret_too_short_to_use_is_still_masked() -> None:
    """Refused as too short to sign with, it is still a secret: config keeps it for masking (refused_secrets)."""
    secret = "Qm4Rt8Yw2Xp6Ls"[:LINK_SECRET_MIN - 2]
    fetcher = FakeFetcher(HEALTHY_STATS)
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message=f"proxy echoed link_secret {secret}")
    env = plain_env(LINK_SECRET=secret)
    lookup = handle(stats_event({"app_id": APP_PROD, "window": "yesterday"}), None, env=env, deps=fake_deps(fetcher))
    assert lookup["statusCode"] == 502
    assert document_leaks(lookup["body"], [secret]) == [], lookup["body"]
