"""Authentication of HTTP lookups: constant-time, fail-closed, silent about why it failed.

- every configured token is compared with `hmac.compare_digest`, whichever one matches
  (observed with a profiler hook, not by patching the module), and the answer is
  compare_digest's own (a spy answering the opposite of `==` decides the lookup);
- every kind of bad credential gets the very same 401: status, headers and body;
- authentication comes before any parsing, so a stranger learns nothing about parameters,
  allowed app ids or body limits;
- tokens (configured or offered) are never logged or echoed;
- hostile `Host` / `X-Forwarded-*` / override headers change nothing at all.
"""

from __future__ import annotations

import base64
import hmac
import json
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.app import handle
from strategies import hostile_text
from support import (
    API_TOKEN,
    APP_NOT_ALLOWED,
    APP_PROD,
    HEALTHY_STATS,
    OTHER_TOKENS,
    FakeFetcher,
    check_http_response,
    fake_deps,
    log_lines,
    plain_env,
    property_settings,
    read_event,
    stats_event,
    strict_stdio,
)

TOKENS = (API_TOKEN, *OTHER_TOKENS)
ENV = plain_env()
GUESS = "attacker-guess-0f9e8d7c6b5a"


def lookup(event: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return handle(event, {"request_id": "auth-test"}, env=ENV if env is None else env, deps=fake_deps())


class CompareDigestSpy:
    """Counts calls of `hmac.compare_digest` in this thread through `sys.setprofile`: the C
    function is observed as it is called, nothing in the product is replaced."""

    def __init__(self) -> None:
        self.calls = 0
        self._target = hmac.compare_digest

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and arg is self._target:
            self.calls += 1

    def __enter__(self) -> CompareDigestSpy:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.setprofile(self._previous)


# ---------------------------------------------------------------------------------------------
# Constant time
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("offered", [*TOKENS, GUESS, TOKENS[0][:-1], TOKENS[2] + "x", "x", "é" * 40])
def test_every_configured_token_goes_through_compare_digest_whichever_matches(offered: str) -> None:
    with CompareDigestSpy() as spy:
        resp = lookup(stats_event(token=offered))
    assert spy.calls == len(TOKENS), "a token was skipped: the time taken depends on which token matched"
    assert resp["statusCode"] == (200 if offered in TOKENS else 401)


def test_the_token_decision_is_compare_digests_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time, shown structurally: the lookup follows `hmac.compare_digest`'s answer and
    nothing else. A spy answering the opposite of `==` lets a guess in and keeps the real token
    out; with `==` (or any other comparison) deciding, this test would fail."""
    calls: List[Tuple[bytes, bytes]] = []
    answer = {"value": True}

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return answer["value"]

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert lookup(stats_event(token=GUESS))["statusCode"] == 200  # compare_digest said yes: accepted
    answer["value"] = False
    assert lookup(stats_event(token=API_TOKEN))["statusCode"] == 401  # compare_digest said no: refused
    assert len(calls) == 2 * len(TOKENS)
    # fixed-length digests, so the comparison's time says nothing about the tokens' length either
    assert all(isinstance(a, bytes) and isinstance(b, bytes) and len(a) == len(b) == 32 for a, b in calls)


def test_the_spy_sees_compare_digest_calls() -> None:  # the spy itself works
    with CompareDigestSpy() as spy:
        hmac.compare_digest(b"a", b"b")
    assert spy.calls == 1


# ---------------------------------------------------------------------------------------------
# One 401 for every failure, before any parsing
# ---------------------------------------------------------------------------------------------
def _with_header(value: Any, name: str = "authorization") -> Callable[[], Dict[str, Any]]:
    def make() -> Dict[str, Any]:
        event = stats_event(token=None)
        event["headers"][name] = value
        return event

    return make


FAILURES: Dict[str, Callable[[], Dict[str, Any]]] = {
    "no header": lambda: stats_event(token=None),
    "empty header": _with_header(""),
    "scheme only": _with_header("Bearer"),
    "scheme and space": _with_header("Bearer "),
    "wrong token": lambda: stats_event(token=GUESS),
    "token minus a character": lambda: stats_event(token=API_TOKEN[:-1]),
    "token plus a character": lambda: stats_event(token=API_TOKEN + "0"),
    "token upper-cased": lambda: stats_event(token=API_TOKEN.upper()),
    "two tokens": _with_header(f"Bearer {API_TOKEN} {OTHER_TOKENS[0]}"),
    "tokens joined by a comma": _with_header(f"Bearer {API_TOKEN},{OTHER_TOKENS[0]}"),
    "Basic scheme": _with_header("Basic " + base64.b64encode(f"user:{API_TOKEN}".encode()).decode()),
    "Token scheme": _with_header(f"Token {API_TOKEN}"),
    "no scheme": _with_header(API_TOKEN),
    "header is a list": _with_header([f"Bearer {API_TOKEN}"]),
    "header is an object": _with_header({"Bearer": API_TOKEN}),
    "token in another header": _with_header(f"Bearer {API_TOKEN}", "x-api-key"),
    "token in the query": lambda: stats_event(query={"app_id": APP_PROD, "window": "yesterday", "token": API_TOKEN,
                                                     "access_token": API_TOKEN}, token=None),
    "token in the body": lambda: stats_event(query={}, token=None, method="POST",
                                             body={"app_id": APP_PROD, "window": "yesterday",
                                                   "Authorization": f"Bearer {API_TOKEN}"}),
    "null byte": _with_header(f"Bearer {API_TOKEN}\x00"),
    "unicode look-alike": _with_header("Bearer " + API_TOKEN.replace("a", "а")),  # Cyrillic a
    # strangers learn nothing about parameters, allowed apps or body limits
    "no token, app not allowed": lambda: stats_event(query={"app_id": APP_NOT_ALLOWED, "window": "yesterday"},
                                                     token=None),
    "no token, malformed parameters": lambda: stats_event(query={"app_id": "x", "Limit": "9"}, token=None),
    "no token, oversized body": lambda: stats_event(query={}, token=None, method="POST", body="x" * 100_000),
    "no token, invalid base64": lambda: stats_event(query={}, token=None, method="POST", body="%%%",
                                                    base64_body=False) | {"isBase64Encoded": True},
}


@pytest.fixture(scope="module")
def reference_401() -> Dict[str, Any]:
    return lookup(stats_event(token=None))


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_every_bad_credential_gets_the_same_401(name: str, reference_401: Dict[str, Any]) -> None:
    fetcher = FakeFetcher(HEALTHY_STATS)
    resp = handle(FAILURES[name](), {"request_id": "auth-test"}, env=ENV, deps=fake_deps(fetcher))
    status, body = check_http_response(resp)
    assert status == 401, body
    assert resp == reference_401, "a 401 that differs tells the caller which part failed"
    assert fetcher.calls == []
    assert API_TOKEN not in json.dumps(resp)


def test_the_401_names_no_part_of_the_credential(reference_401: Dict[str, Any]) -> None:
    body = json.loads(reference_401["body"])["error"]
    assert body["code"] == "AuthFailure.Unauthorized"
    assert reference_401["headers"]["WWW-Authenticate"] == 'Bearer realm="sms-receipt-stats"'
    text = (body["message"] + " " + body["hint"]).lower()
    for telltale in ("expired", "unknown token", "too short", "too long", "prefix", "scheme", "format",
                     "malformed", "not found", "length", "mismatch"):
        assert telltale not in text


@pytest.mark.parametrize("tokens", ["", " , ,", "\n"])
def test_no_configured_token_fails_closed(tokens: str) -> None:
    for event in (stats_event(token=API_TOKEN), stats_event(token=""), stats_event(token=None)):
        resp = lookup(event, plain_env(API_TOKENS=tokens))
        assert resp["statusCode"] == 401


def test_an_unknown_api_auth_value_fails_closed() -> None:
    resp = lookup(stats_event(token=None), plain_env(API_AUTH="off"))
    assert resp["statusCode"] == 401


def test_api_auth_none_lets_api_gateway_authenticate() -> None:
    assert lookup(stats_event(token=None), plain_env(API_AUTH="none"))["statusCode"] == 200


# ---------------------------------------------------------------------------------------------
# Tokens are never logged or echoed
# ---------------------------------------------------------------------------------------------
def test_tokens_offered_or_configured_never_reach_logs_or_bodies() -> None:
    events: List[Dict[str, Any]] = [make() for make in FAILURES.values()]
    events += [stats_event(token=t) for t in TOKENS]
    events += [stats_event(token=GUESS, query={"app_id": GUESS, "begin": GUESS, "end": API_TOKEN})]
    events += [stats_event(token=API_TOKEN, query={"app_id": APP_PROD, "begin": API_TOKEN, "end": GUESS})]
    outputs = []
    with strict_stdio() as stdio:
        for event in events:
            outputs.append(json.dumps(handle(event, {"request_id": "auth-test"}, env=ENV, deps=fake_deps())))
    records = log_lines(stdio.out())
    assert records and all(r.get("request_id") == "auth-test" for r in records)
    everything = "\n".join([*outputs, stdio.out(), stdio.err()])
    for secret in (*TOKENS, GUESS):
        assert secret not in everything


# ---------------------------------------------------------------------------------------------
# Hostile forwarding headers change nothing
# ---------------------------------------------------------------------------------------------
FORWARDING = ("Host", "host", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
              "X-Forwarded-Prefix", "X-Forwarded-Path", "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP",
              "CF-Connecting-IP", "X-Original-URL", "X-Rewrite-URL", "X-Original-Method",
              "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Remote-User", "X-Forwarded-User",
              "X-Auth-Request-User", "X-Api-Key", "X-Qualifier", "X-Anonymous-Consumer", "Content-Length",
              "Content-Type", "Transfer-Encoding", "Origin", "Referer", "Cookie", "Proxy-Authorization")
HOSTILE_VALUES = st.one_of(
    hostile_text,
    st.sampled_from(["127.0.0.1", "localhost", "169.254.169.254", "evil.invalid", "admin", "true", "false",
                     "/release/health", "/health", "GET", "DELETE", "https", "for=127.0.0.1;proto=https",
                     f"Bearer {API_TOKEN}", API_TOKEN, "0", "-1", "chunked",
                     "application/x-www-form-urlencoded"]),
    st.lists(hostile_text, max_size=2),
)
BASES: Dict[str, Callable[[], Dict[str, Any]]] = {
    "authorized lookup": lambda: stats_event(),
    "no token": lambda: stats_event(token=None),
    "wrong token": lambda: stats_event(token=GUESS),
    "app not allowed": lambda: stats_event(query={"app_id": APP_NOT_ALLOWED, "window": "yesterday"}),
    "health": lambda: read_event("apigw_health"),
    "unknown path": lambda: read_event("apigw_unknown_path"),
    "wrong method": lambda: read_event("apigw_delete_stats"),
}


@pytest.fixture(scope="module")
def reference_answers() -> Iterator[Dict[str, Dict[str, Any]]]:
    yield {name: lookup(make()) for name, make in BASES.items()}


@property_settings(300)
@given(base=st.sampled_from(sorted(BASES)),
       extra=st.dictionaries(st.sampled_from(FORWARDING), HOSTILE_VALUES, min_size=1, max_size=6),
       source=st.sampled_from([None, "127.0.0.1", "10.0.0.1", "::1"]))
def test_forwarding_and_override_headers_change_nothing(base: str, extra: Dict[str, Any], source: Optional[str],
                                                       reference_answers: Dict[str, Dict[str, Any]],
                                                       tally: Any) -> None:
    tally["cases:auth: hostile Host / X-Forwarded-* / override headers"] += 1
    event = BASES[base]()
    event["headers"].update(extra)
    if source:
        event["requestContext"]["sourceIp"] = source
        event["requestContext"]["identity"] = {"sourceIp": source, "user": "admin"}
    assert lookup(event) == reference_answers[base]
