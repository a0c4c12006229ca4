"""Transitional: the data-file catalogue says exactly what the old `errors` module said."""

from __future__ import annotations

from dataclasses import astuple

import pytest

from sms_receipt_stats import catalogue, errors, redaction


def dump(entries):  # every code -> what an operator sees
    return {code: (e.code, e.severity, e.category, e.retryable, e.hint_en, e.hint_zh) for code, e in entries.items()}


def test_every_entry_is_byte_identical_and_in_the_same_order() -> None:
    assert list(catalogue.CATALOGUE) == list(errors.CATALOGUE)
    assert dump(catalogue.CATALOGUE) == dump(errors.CATALOGUE)


def test_lists_and_unknown_entry_are_identical() -> None:
    cat = catalogue.load()
    assert cat.callback_status_statistics_codes == errors.CALLBACK_STATUS_STATISTICS_CODES
    assert cat.common_codes == errors.COMMON_CODES
    assert astuple(cat.unknown) == astuple(errors._GENERIC)
    assert catalogue.OPERATOR_CONFIG_CODES == errors._OPERATOR_CONFIG_CODES
    assert dict(catalogue.LOCAL_HTTP_STATUS) == dict(errors.LOCAL_HTTP_STATUS)


PROBES = ["", "  ", "Foo.Bar", "internalerror.timeout", "UnsupportedOperation.", "InvalidParameterValueX",
          "RequestLimitExceeded.New", "AuthFailure.Foo.Bar", "ClientError.Whatever", "NotFound", "notfound"]


@pytest.mark.parametrize("code", sorted(errors.CATALOGUE) + PROBES)
def test_verdicts_are_identical(code: str) -> None:
    assert astuple(catalogue.classify(code)) == astuple(errors.classify(code))
    assert catalogue.is_retryable(code) == errors.is_retryable(code)
    assert catalogue.http_status(code) == errors.http_status(code)
    assert catalogue.retry_after_seconds(code) == errors.retry_after_seconds(code)
    for lang in ("en", "zh"):
        for untrusted in (True, False):
            msg = f"{code} failed: https://h.example/x?key=abc Credential=AKIDabcdefghijklmnop " + "y" * 600
            assert catalogue.error_info(code, msg, "rid", lang, secrets=["s3cretvalue"], untrusted=untrusted) == \
                errors.error_info(code, msg, "rid", lang, secrets=["s3cretvalue"], untrusted=untrusted)


TEXTS = [
    None, 12345, "", "x" * 5000, "abc def",
    "Authorization: TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request",
    "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    "POST https://oapi.dingtalk.com/robot/send?access_token=deadbeefcafe1234 failed",
    "webhook+https://example.com/hook#secret=whsec_abcdefgh unreachable", "https://user:p4ssw0rd@example.com/x failed",
    'query sign=abcdef123456&timestamp=1 rejected {"SecretKey": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"}',
    "X-TC-Token: mytemporarytoken123 Authorization: Bearer sk-live-abcdef0123456789 AKIDabcdefghijklmnopqrst",
    "key CANARYsecretKEY0123456789abcdefXY and canary-session-token-ZZZ-987654321 split CANARY secretKEY012",
    "a." * 2000, "k" * 4000 + "=", "AKID" * 1000,
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("secrets", [(), ("CANARYsecretKEY0123456789abcdefXY", "canary-session-token-ZZZ-987654321"),
                                     ("abc",), ("", "   ")])
def test_scrub_is_identical(text, secrets) -> None:
    assert redaction.scrub(text, secrets) == errors.scrub(text, secrets)
