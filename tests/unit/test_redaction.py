"""The secret-masking mechanism (`redaction`): known secrets, untrusted text, credential patterns.

Documents and logs: whole secrets and leading parts of 8+ characters, in any case and in
their JSON-escaped and URL-encoded forms. Untrusted text (upstream messages): also any part
of 6+ characters, split by blanks, upper-cased or base64-encoded; withheld when a configured
secret is too short to mask.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from sms_receipt_stats import redaction
from sms_receipt_stats.redaction import scrub
from support import API_TOKEN, FakeFetcher, RecordingDeliver, base_env, read_event

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


# --- scrub: untrusted text, credential patterns, length -------------------------------------

CANARY_KEY = "CANARYsecretKEY0123456789abcdefXY"
CANARY_TOKEN = "canary-session-token-ZZZ-987654321"


def test_scrub_removes_given_secrets() -> None:
    text = f"failed with key {CANARY_KEY} and token {CANARY_TOKEN}"
    out = scrub(text, [CANARY_KEY, CANARY_TOKEN])
    assert CANARY_KEY not in out and CANARY_TOKEN not in out
    assert "failed with key" in out


def test_scrub_removes_url_encoded_secrets() -> None:
    secret = "a/b+c=d&e"
    out = scrub("posted to host?x=a%2Fb%2Bc%3Dd%26e", [secret])
    assert "a%2Fb%2Bc%3Dd%26e" not in out


def test_scrub_ignores_empty_secrets_and_withholds_text_when_one_is_too_short_to_mask() -> None:
    assert scrub("abc def", ["", "   ", None]) == "abc def"  # type: ignore[list-item]
    assert scrub("abc def", ["", "abc"]) == redaction.WITHHELD


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        (
            "Authorization: TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request",
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        ),
        (
            "SignedHeaders=content-type;host, "
            "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
        ),
        ("POST https://oapi.dingtalk.com/robot/send?access_token=deadbeefcafe1234 failed", "deadbeefcafe1234"),
        ("POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4 500", "693a91f6-7xxx-4bc4"),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX timed out", "XXXXXXXXXXXXXXXX"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb refused", "0f1e2d3c-aaaa-bbbb"),
        ("webhook+https://example.com/hook#secret=whsec_abcdefgh unreachable", "whsec_abcdefgh"),
        ("https://user:p4ssw0rd@example.com/x failed", "p4ssw0rd"),
        ("query sign=abcdef123456&timestamp=1 rejected", "abcdef123456"),
        ("token=tok_live_9876543210 invalid", "tok_live_9876543210"),
        ("key=supersecretvalue invalid", "supersecretvalue"),
        ('{"SecretKey": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"}', "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
        ("X-TC-Token: mytemporarytoken123", "mytemporarytoken123"),
        ("Authorization: Bearer sk-live-abcdef0123456789", "sk-live-abcdef0123456789"),
        ("uses AKIDabcdefghijklmnopqrst in the message", "AKIDabcdefghijklmnopqrst"),
        ("TENCENTCLOUD_SESSIONTOKEN=abc123abc123", "abc123abc123"),
    ],
)
def test_scrub_removes_credential_looking_substrings(text: str, leak: str) -> None:
    out = scrub(text)
    assert leak not in out, out


def test_scrub_keeps_ordinary_messages_readable() -> None:
    message = (
        "[TencentCloudSDKException] code:UnauthorizedOperation.RequestPermissionDeny "
        "message:you are not authorized to perform operation (sms:CallbackStatusStatistics) "
        "requestId:3314836f-0b10-45cb-b7be-593e84c1c197"
    )
    assert scrub(message) == message


def test_scrub_keeps_the_host_of_urls() -> None:
    out = scrub("HTTPSConnectionPool: https://sms.tencentcloudapi.com/?Action=X timed out")
    assert "https://sms.tencentcloudapi.com" in out
    assert "Action=X" not in out


def test_scrub_truncates_to_500_chars() -> None:
    out = scrub("x" * 5000)
    assert len(out) <= 500
    assert out.startswith("xxx")


def test_scrub_cuts_huge_pathological_input_to_500_chars() -> None:
    """How long it takes is measured in bench/bench_redaction.py, not asserted here."""
    blobs = ["a." * 200_000, "k" * 400_000 + "=", "AKID" * 100_000, "https://" + "a" * 300_000]
    for blob in blobs:
        assert len(scrub(blob)) <= 500


def test_scrub_handles_none_and_non_strings() -> None:
    assert scrub(None) == ""  # type: ignore[arg-type]
    assert scrub(12345) == "12345"  # type: ignore[arg-type]


# -- normalisation: a secret in any encoding a text can carry ----------------------------------------------

ENC_SECRET = "Kq7/Zr4+pW2:mL\u7f51x9"


def _pct(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode("utf-8"))


ENCODED = {
    "percent, every byte": _pct(ENC_SECRET),
    "percent, lower-case hex": _pct(ENC_SECRET).lower(),
    "percent, partial": "Kq7%2FZr4%2BpW2:mL%E7%BD%91x9",
    "percent, + for a space (query string)": quote_plus("Kq7 Zr4 pW2 mLx9", safe=""),
    "percent, twice": _pct(_pct(ENC_SECRET)),
    "json \\u, every character": "".join(f"\\u{ord(c):04x}" for c in ENC_SECRET),
    "json \\/": json.dumps(ENC_SECRET, ensure_ascii=False)[1:-1].replace("/", "\\/"),
    "html decimal": "".join(f"&#{ord(c)};" for c in ENC_SECRET),
    "html hex, no semicolons": "".join(f"&#X{ord(c):x}" for c in ENC_SECRET),
    "html named": "Kq7&sol;Zr4&plus;pW2&colon;mL\u7f51x9",
    "zero-width characters": "\u200b".join(ENC_SECRET[:6]) + "\u200c\u200d\u2060\ufeff" + ENC_SECRET[6:],
    "soft hyphens": "\u00ad".join(ENC_SECRET),
    "reversed": ENC_SECRET[::-1],
    "html entity of a percent": "".join(f"&#37;{b:02X}" for b in ENC_SECRET.encode()),
    "percent of a json \\u": _pct("".join(f"\\u{ord(c):04x}" for c in ENC_SECRET)),
}


@pytest.mark.parametrize("form", sorted(ENCODED))
def test_a_secret_is_masked_in_every_encoding_and_the_text_around_it_is_kept(form: str) -> None:
    secrets = [ENC_SECRET, "Kq7 Zr4 pW2 mLx9"]
    text = f"GET /send?key={ENCODED[form]}&lang=en%20US said &lt;proxy&gt;\n"
    expected = "GET /send?key=***&lang=en%20US said &lt;proxy&gt;\n"
    assert redact(text, *secrets) == expected
    assert redaction.scrub_untrusted(text, secrets) == expected


PREFIX_ENCODERS = {
    "percent": _pct,
    "html decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "json \\u": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "soft hyphens": "\u00ad".join,
}


@pytest.mark.parametrize("encoder", sorted(PREFIX_ENCODERS))
def test_a_leading_part_of_an_encoded_secret_is_masked(encoder: str) -> None:
    long_secret = "Zr4pW2mLx9Tb3Kq7Hy6tN3vX"
    assert redact(f"[{PREFIX_ENCODERS[encoder](long_secret[:10])}]", long_secret) == "[***]"


def test_untrusted_text_loses_an_encoded_fragment_of_a_secret() -> None:
    fragment = SECRET[5:12]
    for encoded in (_pct(fragment), "".join(f"&#{ord(c)};" for c in fragment), "\u00ad".join(fragment),
                    "".join(f"\\u{ord(c):04x}" for c in fragment), fragment[::-1]):
        out = scrub(f"echo [{encoded}] end", [SECRET])
        assert out == "echo [***] end", (encoded, out)


def test_a_secret_that_contains_an_escape_is_found_as_written_and_encoded() -> None:
    secret = "pass%41word\\u0042&amp;-01"
    for text in (secret, quote(secret, safe=""), _pct(secret), json.dumps(secret)[1:-1]):
        assert redact(f"x {text} y", secret) == "x *** y", text


def test_decoding_changes_nothing_that_is_not_a_secret() -> None:
    text = ("a &amp; b &lt;i&gt; %20%E7%BD%91 %ZZ %FF%FE \\u00e9\\n\\\"q\\\" \u200bzw\u00ad &unknown; &#0; "
            "https://h.example/p?a=1&b=%2F")
    assert redact(text, TOKEN_A, ROBOT_URL) == text
    assert redaction.scrub_untrusted(text, [TOKEN_A, ROBOT_URL]) == text


def test_a_masked_json_escape_keeps_the_json_valid() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in TOKEN_A)
    body = '{"error": {"message": "proxy: \\"' + escaped + '\\" refused", "code": "X"}}'
    out = redact(body, TOKEN_A)
    assert json.loads(out) == {"error": {"message": 'proxy: "***" refused', "code": "X"}}


def test_a_robot_url_percent_encoded_by_a_proxy_loses_its_key() -> None:
    key = "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"
    echoed = f"proxy error for {quote(ROBOT_URL, safe='')} (502)"
    assert key not in redact(echoed, ROBOT_URL, key)
    assert redact(f"proxy error for {_pct(ROBOT_URL)} (502)", ROBOT_URL, key) == "proxy error for *** (502)"
