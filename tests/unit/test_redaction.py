"""The secret-masking mechanism (`redaction`) and `errors.scrub` built on it.

Documents and logs: whole secrets and leading parts of 8+ characters, in any case and in
their JSON-escaped and URL-encoded forms. Untrusted text (upstream messages): also any part
of 6+ characters, split by blanks, upper-cased or base64-encoded; withheld when a configured
secret is too short to mask.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from conftest import API_TOKEN, FakeFetcher, RecordingDeliver, base_env, read_event
from sms_receipt_stats import redaction
from sms_receipt_stats.errors import scrub

TOKEN_A = "stats-dashboard-Zr4qK8pW2mLx"
TOKEN_B = "stats-dashboard-Hy6tN3vX9cQe"
ROBOT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"


def redact(text: str, *secrets: str) -> str:
    return redaction.redact_text(text, redaction.prepare(secrets))


# -- documents and logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [TOKEN_A, TOKEN_A[:20], TOKEN_A[:10], TOKEN_B[:17], TOKEN_A + TOKEN_B])
def test_secrets_sharing_a_prefix_are_each_masked_whole(quoted: str) -> None:
    out = redact(f"API_AUTH: '{quoted}' is not valid", TOKEN_A, TOKEN_B)
    assert out == "API_AUTH: '***' is not valid"


@pytest.mark.parametrize("quoted", [TOKEN_A.lower(), TOKEN_A.upper(), TOKEN_A[:20].lower(), TOKEN_A.swapcase()])
def test_masking_ignores_case(quoted: str) -> None:
    assert redact(f"x {quoted} y", TOKEN_A) == "x *** y"


@pytest.mark.parametrize("secret", ['tok"en\\with-quotes-01', "tok\u00e9n/\u7f51\u5173-0002\n", "a\tb\"c\\d/e<f>g-03"])
def test_json_escaped_forms_are_masked(secret: str) -> None:
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        out = redact(f'upstream said: {{"token": "{escaped}"}}', secret)
        assert escaped not in out and "***" in out
    line = json.dumps({"message": f"bad {secret} here"})
    assert secret not in json.loads(redact(line, secret))["message"]


def test_url_encoded_forms_are_masked() -> None:
    secret = "a+b/c=d&e f-0004"
    for form in (quote(secret, safe=""), quote(secret, safe="/:"), "a%2Bb%2Fc%3Dd%26e+f-0004"):
        assert redact(f"GET /x?token={form} 400", secret) == "GET /x?token=*** 400"


def test_short_secrets_never_eat_ordinary_words() -> None:
    text = "no credentials: set TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY"
    assert redact(text, "set", "TE", "", " ") == text


def test_url_secrets_are_masked_whole_only() -> None:
    hint = "check https://qyapi.weixin.qq.com and its key"
    assert redact(hint, ROBOT_URL) == hint
    assert redact(f"posting to {ROBOT_URL} failed", ROBOT_URL) == "posting to *** failed"


def test_redact_masks_every_string_of_a_document() -> None:
    doc = {"a": [TOKEN_A, {"b": f"x{TOKEN_B.upper()}x"}], "n": 1, "t": (TOKEN_A[:9],)}
    assert redaction.redact(doc, redaction.prepare([TOKEN_A, TOKEN_B])) == {"a": ["***", {"b": "x***x"}], "n": 1,
                                                                            "t": ["***"]}


# -- untrusted text -----------------------------------------------------------------------------------


SECRET = "Kq7Zr4pW2mLx9Tb3"


@pytest.mark.parametrize("leak", [
    SECRET,
    SECRET[-7:],                                    # a suffix
    SECRET[4:11],                                   # a middle part
    SECRET[:8] + "\n" + SECRET[8:],                 # split by a new line
    SECRET[:5] + " \r\n\t" + SECRET[5:],
    SECRET.upper(),
    base64.b64encode(SECRET.encode()).decode(),
    base64.b64encode(b"user:" + SECRET.encode()).decode(),  # at another byte alignment
    base64.urlsafe_b64encode(b"xy" + SECRET.encode()).decode(),
    quote(SECRET[3:12]),
])
def test_untrusted_text_loses_any_part_of_a_secret(leak: str) -> None:
    out = scrub(f"signature mismatch for [{leak}] at the gateway", [SECRET])
    compact = "".join(out.split()).lower()
    for k in range(len(SECRET) - redaction.MIN_FRAGMENT + 1):
        assert SECRET[k:k + redaction.MIN_FRAGMENT].lower() not in compact, out
    assert out.startswith("signature mismatch for [") and out.endswith("] at the gateway")


def test_untrusted_text_keeps_what_is_not_a_secret() -> None:
    text = "InvalidParameterValue: the SmsSdkAppId 1400006874 does not exist (request 3314836f)"
    assert scrub(text, [SECRET, TOKEN_A, ROBOT_URL]) == text


@pytest.mark.parametrize("short", ["ab", "x", "k1!"])
def test_untrusted_text_is_withheld_when_a_secret_is_too_short_to_mask(short: str) -> None:
    out = scrub(f"rejected {short} token", [SECRET, short])
    assert out == redaction.WITHHELD
    assert scrub("", [short]) == ""


# -- masking never breaks the shape of what it masks ---------------------------------------------------


@pytest.mark.parametrize("token", ["sms-receipt-stats-token-0001", "success_rate_below-token", "critical-token-0002",
                                   "api_error-token-0003", "RequestSuccessCount-token"])
def test_a_secret_that_starts_like_a_word_of_the_schema_breaks_no_document(invoke: Any, fetcher: FakeFetcher,
                                                                          delivered: RecordingDeliver,
                                                                          token: str) -> None:
    fetcher.fail("1400000002", "AuthFailure.SignatureFailure")
    env = base_env(API_TOKENS=f"{API_TOKEN},{token}", NOTIFY_URLS="https://hooks.example.com/h",
                   ALERT_SUCCESS_RATE_MIN="0.99")
    doc = invoke(read_event("timer_default"), env=env)
    assert doc["schema"] == "sms-receipt-stats/v1" and doc["errors"] == []
    assert {a["rule"] for a in doc["alerts"]} >= {"api_error", "success_rate_below"}
    [sent] = delivered.docs
    assert sent["schema"] == doc["schema"] and sent["alerts"] == doc["alerts"]
    assert all(set(r["stats"]) >= {"RequestSuccessCount"} for r in sent["results"] if r["stats"])


def test_a_log_line_stays_json_whatever_the_secret_looks_like(capsys: pytest.CaptureFixture[str]) -> None:
    from sms_receipt_stats import log

    secret = 'level": "info", "logger'
    logger = log.configure("req-1", [secret])
    logger.info(f"said {secret} twice: {secret.upper()}", extra={"code": "X"})
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if ln]
    record = json.loads(line)
    assert record["level"] == "info" and record["message"] == "said *** twice: ***"
