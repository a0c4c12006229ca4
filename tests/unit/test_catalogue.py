"""The error catalogue (`catalogue.json` read by `catalogue`): every code classified, hinted and
mapped to an HTTP status (docs/http-api.md, "HTTP lookups"); the data file checked entry by entry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

from sms_receipt_stats import catalogue, redaction
from sms_receipt_stats.catalogue import (
    CATALOGUE,
    ErrorEntry,
    classify,
    error_info,
    http_status,
    is_retryable,
    retry_after_seconds,
)
from sms_receipt_stats.documents import ErrorInfo
from support import APP_PROD, FakeFetcher, read_event

CJK = re.compile(r"[\u4e00-\u9fff]")
SEVERITIES = {"info", "warning", "critical"}
CATEGORIES = {"input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"}


# --- the data file ------------------------------------------------------------------------------

DATA = Path(catalogue.__file__).with_name(catalogue.DATA_FILE)


def _no_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {catalogue.DATA_FILE}: {keys}"
    return dict(pairs)


def raw_data() -> Dict[str, Any]:
    """The data file as JSON, refusing a key written twice (json.loads keeps the last silently)."""
    return json.loads(DATA.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)


def test_data_file_holds_every_entry_once_and_only_known_fields() -> None:
    data = raw_data()
    codes = [code for group in data["groups"] for code in group["codes"]]
    assert len(codes) == len(set(codes)) == len(CATALOGUE) >= 140
    assert all(group["title"].strip() for group in data["groups"])
    for group in data["groups"]:
        for code, raw in group["codes"].items():
            assert set(raw) == {"category", "severity", "hint"}, code
            assert set(raw["hint"]) == {"en", "zh"}, code


def test_only_rate_limit_and_transient_codes_are_retryable() -> None:
    assert {"rate_limit", "transient"} == catalogue.RETRYABLE_CATEGORIES
    retryable = {code for code, e in CATALOGUE.items() if e.retryable}
    assert retryable == {code for code, e in CATALOGUE.items() if e.category in {"rate_limit", "transient"}}
    assert "RequestLimitExceeded" in retryable and "InternalError.Timeout" in retryable
    assert set(catalogue.SEVERITIES) == SEVERITIES and set(catalogue.CATEGORIES) == CATEGORIES


def _with_entry(code: str, entry: Any) -> str:
    data = raw_data()
    data["groups"][0]["codes"][code] = entry
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"category": "weather", "severity": "warning", "hint": {"en": "x", "zh": "x"}}, "category"),
        ({"category": "input", "severity": "loud", "hint": {"en": "x", "zh": "x"}}, "severity"),
        ({"category": "input", "severity": "warning", "hint": {"en": "x", "zh": " "}}, "hint.zh"),
        ({"category": "input", "severity": "warning", "hint": {"en": "x"}}, "hint.zh"),
        ({"category": "input", "severity": "warning"}, "hint.en"),
        ("input", "must be an object"),
    ],
)
def test_a_malformed_entry_is_refused_naming_its_code_and_field(entry: Any, named: str) -> None:
    with pytest.raises(catalogue.CatalogueError) as caught:
        catalogue.parse(_with_entry("Bad.Entry", entry))
    assert "'Bad.Entry'" in str(caught.value) and named in str(caught.value)


def test_a_code_in_two_groups_is_refused() -> None:
    data = raw_data()
    data["groups"][1]["codes"]["ActionOffline"] = data["groups"][0]["codes"]["ActionOffline"]
    with pytest.raises(catalogue.CatalogueError, match="duplicate error code 'ActionOffline'"):
        catalogue.parse(json.dumps(data))


def test_the_shipped_file_parses_to_the_loaded_catalogue() -> None:
    parsed = catalogue.parse(DATA.read_text(encoding="utf-8"))
    assert parsed.entries == catalogue.load().entries
    assert catalogue.load() is catalogue.load()  # read once


# --- loaded on the first failure only ----------------------------------------------------------


def test_import_handler_loads_neither_the_catalogue_nor_the_credential_patterns() -> None:
    probe = (
        "import sys, handler\n"
        "from sms_receipt_stats import redaction\n"
        "print(sorted(m for m in sys.modules if m.startswith('sms_receipt_stats.catalogue')),"
        " redaction._credential_patterns.cache_info().currsize)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "0"], out.stdout + out.stderr


@pytest.fixture()
def loads(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """Records every read of the catalogue and every use of the credential patterns."""
    seen: List[str] = []
    real_load, real_patterns = catalogue.load, redaction._credential_patterns

    def load() -> catalogue.Catalogue:
        seen.append("catalogue")
        return real_load()

    def patterns() -> Any:
        seen.append("patterns")
        return real_patterns()

    monkeypatch.setattr(catalogue, "load", load)
    monkeypatch.setattr(redaction, "_credential_patterns", patterns)
    return seen


def test_successful_runs_never_read_the_catalogue(invoke: Callable[..., Dict[str, Any]], loads: List[str]) -> None:
    report = invoke(read_event("timer_default"))
    lookup = invoke(read_event("apigw_get_stats"))
    assert report["errors"] == [] and len(report["results"]) == 3
    assert all(result["error"] is None for result in report["results"])
    assert lookup["statusCode"] == 200
    assert loads == []


def test_the_first_failure_reads_it(invoke: Callable[..., Dict[str, Any]], fetcher: FakeFetcher,
                                    loads: List[str]) -> None:
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message="refused at https://sms.example/x?key=k1")
    doc = invoke(read_event("timer_default"))
    [error] = [result["error"] for result in doc["results"] if result["app_id"] == APP_PROD]
    assert error["hint"] == CATALOGUE["AuthFailure.SignatureFailure"].hint_en
    assert "key=k1" not in error["message"]
    assert "catalogue" in loads and "patterns" in loads


# --- the catalogue itself ---------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_entry_is_complete(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.code == code
    assert entry.severity in SEVERITIES
    assert entry.category in CATEGORIES
    assert entry.retryable is (entry.category in {"rate_limit", "transient"})
    assert entry.hint_en.strip() and entry.hint_zh.strip()
    assert CJK.search(entry.hint_zh), "zh hint must be Chinese"
    assert not CJK.search(entry.hint_en), "en hint must be English"
    assert entry.hint("en") == entry.hint_en
    assert entry.hint("zh") == entry.hint_zh


def test_no_code_is_a_python_exception_name() -> None:
    import builtins

    python_names = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)
                    and issubclass(getattr(builtins, n), BaseException)}
    python_names |= {"JSONDecodeError", "ReadTimeout", "ConnectTimeout", "SSLError", "gaierror", "timeout"}
    assert not python_names & set(CATALOGUE)


def test_upstream_data_invalid_is_ours_and_catalogued() -> None:
    entry = CATALOGUE["UpstreamDataInvalid"]
    assert (entry.category, entry.retryable) == ("upstream", False)
    assert "RequestId" in entry.hint_en and "RequestId" in entry.hint_zh


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["Foo"] = CATALOGUE["InternalError"]  # type: ignore[index]


def test_documented_codes_are_all_catalogued() -> None:
    documented = catalogue.load()
    assert len(documented.callback_status_statistics_codes) == 26 and len(documented.common_codes) == 38
    assert set(CATALOGUE) >= documented.callback_status_statistics_codes
    assert set(CATALOGUE) >= documented.common_codes
    sdk_codes = {
        "ClientNetworkError",
        "ServerNetworkError",
        "ClientError",
        "ClientParamsError",
        "InvalidCredential",
    }
    assert sdk_codes <= set(CATALOGUE)
    assert {"AuthFailure.Unauthorized", "NotFound", "MethodNotAllowed"} <= set(CATALOGUE)


def test_every_sms_code_of_the_installed_sdk_is_catalogued() -> None:
    codes_module = pytest.importorskip("tencentcloud.sms.v20210111.errorcodes")
    sdk_codes = {v for k, v in vars(codes_module).items() if k.isupper() and isinstance(v, str)}
    assert sdk_codes, "the SDK's code list should not be empty"
    assert sorted(sdk_codes - set(CATALOGUE)) == []


@pytest.mark.parametrize(
    ("code", "category", "severity"),
    [
        ("InternalError.RequestTimeException", "clock", "critical"),
        ("AuthFailure.SignatureExpire", "clock", "critical"),
        ("UnauthorizedOperation.ServiceSuspendDueToArrears", "billing", "critical"),
        ("FailedOperation.InsufficientBalanceInSmsPackage", "billing", "critical"),
        ("UnauthorizedOperation.RequestIpNotInWhitelist", "permission", "critical"),
        ("UnauthorizedOperation.RequestPermissionDeny", "permission", "critical"),
        ("AuthFailure.SecretIdNotFound", "auth", "critical"),
        ("AuthFailure.SignatureFailure", "auth", "critical"),
        ("RequestLimitExceeded", "rate_limit", "warning"),
        ("InternalError.Timeout", "transient", "warning"),
        ("InternalError.SendAndRecvFail", "transient", "warning"),
        ("ClientNetworkError", "transient", "warning"),
        ("InvalidParameterValue.SdkAppIdNotExist", "input", "warning"),
        ("InternalError", "transient", "warning"),
        ("DryRunOperation", "upstream", "info"),
    ],
)
def test_key_classifications(code: str, category: str, severity: str) -> None:
    entry = classify(code)
    assert (entry.category, entry.severity) == (category, severity)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("InternalError.RequestTimeException", ["clock", "NTP"]),
        ("UnauthorizedOperation.ServiceSuspendDueToArrears", ["top up", "Billing Center"]),
        ("UnauthorizedOperation.RequestIpNotInWhitelist", ["egress IP", "whitelist"]),
        ("AuthFailure.SecretIdNotFound", ["TENCENTCLOUD_SECRETID", "execution role"]),
        ("UnauthorizedOperation.RequestPermissionDeny", ["sms:CallbackStatusStatistics", "QcloudSMSReadOnlyAccess"]),
        ("InvalidParameterValue.SdkAppIdNotExist", ["SMS_SDK_APP_IDS", "SMS console"]),
    ],
)
def test_hints_are_concrete(code: str, words: list) -> None:
    hint = classify(code).hint("en")
    for word in words:
        assert word in hint
    assert CJK.search(classify(code).hint("zh"))


def test_hint_language_selection() -> None:
    entry = classify("InternalError.Timeout")
    assert entry.hint("zh-CN") == entry.hint_zh
    assert entry.hint("ZH") == entry.hint_zh
    assert entry.hint("fr") == entry.hint_en
    assert entry.hint() == entry.hint_en


# --- classify fallbacks -----------------------------------------------------------------------


def test_exact_code_keeps_its_entry() -> None:
    assert classify("InternalError.Timeout") is CATALOGUE["InternalError.Timeout"]


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("AuthFailure.Foo", "AuthFailure"),
        ("RequestLimitExceeded.AccountLimitExceeded", "RequestLimitExceeded"),
        ("InvalidParameterValue.Brand.New", "InvalidParameterValue"),
        ("UnauthorizedOperation.SomethingNew", "UnauthorizedOperation"),
        ("InternalError.NewThing", "InternalError"),
        ("MissingParameter.Foo", "MissingParameter"),
        ("ClientError.Whatever", "ClientError"),
    ],
)
def test_unknown_code_falls_back_on_longest_prefix(code: str, family: str) -> None:
    entry = classify(code)
    expected = CATALOGUE[family]
    assert entry.code == code
    assert (entry.category, entry.severity, entry.retryable) == (
        expected.category,
        expected.severity,
        expected.retryable,
    )
    assert entry.hint_en == expected.hint_en


def test_prefix_only_matches_on_dot_boundaries() -> None:
    # "InvalidParameterValueX" is not an "InvalidParameter" code.
    assert classify("InvalidParameterValueX").category == "upstream"
    assert classify("RequestLimitExceededFoo").category == "upstream"


def test_rate_limit_prefix_is_retryable() -> None:
    assert classify("RequestLimitExceeded.X").category == "rate_limit"
    assert is_retryable("RequestLimitExceeded.X")


def test_case_and_trailing_dot_are_tolerated() -> None:
    assert classify("internalerror.timeout").category == "transient"
    assert classify("UnsupportedOperation.").category == classify("UnsupportedOperation").category


@pytest.mark.parametrize("code", ["SomethingBrandNew", "Foo.Bar.Baz", "", "   "])
def test_unknown_code_is_a_generic_upstream_warning(code: str) -> None:
    entry = classify(code)
    assert isinstance(entry, ErrorEntry)
    assert entry.code == code
    assert (entry.category, entry.severity, entry.retryable) == ("upstream", "warning", False)
    assert entry.hint_en and CJK.search(entry.hint_zh)
    assert http_status(code) == 502
    assert retry_after_seconds(code) is None


def test_classify_none_does_not_crash() -> None:
    assert classify(None).category == "upstream"  # type: ignore[arg-type]


# --- retryability -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "InternalError.Timeout",
        "InternalError.SendAndRecvFail",
        "InternalError",
        "InternalError.NotYetCatalogued",
        "ClientNetworkError",
        "ServerNetworkError",
        "ServiceUnavailable",
    ],
)
def test_retryable_codes(code: str) -> None:
    assert is_retryable(code)


@pytest.mark.parametrize(
    "code",
    [
        "AuthFailure.SignatureFailure",
        "UnauthorizedOperation.ServiceSuspendDueToArrears",
        "InternalError.RequestTimeException",
        "InvalidParameter",
        "InternalError.OtherError",
        "LimitExceeded.AppDailyLimit",
        "Unknown.Code",
    ],
)
def test_not_retryable_codes(code: str) -> None:
    assert not is_retryable(code)


# --- HTTP status (docs/http-api.md, "Status codes": upstream rows) --------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        # upstream says the caller's input is wrong
        ("InvalidParameter", 400),
        ("InvalidParameter.InvalidParameters", 400),
        ("InvalidParameterValue", 400),
        ("InvalidParameterValue.BeginTimeVerifyFail", 400),
        ("InvalidParameterValue.EndTimeVerifyFail", 400),
        ("InvalidParameterValue.LimitVerifyFail", 400),
        ("InvalidParameterValue.OffsetVerifyFail", 400),
        ("InvalidParameterValue.SdkAppIdNotExist", 400),
        ("InvalidParameterValue.SomethingNew", 400),
        ("MissingParameter", 400),
        ("MissingParameter.EmptyPhoneNumberSet", 400),
        ("UnknownParameter", 400),
        ("FailedOperation.JsonParseFail", 502),
        # rate limit
        ("RequestLimitExceeded", 429),
        ("RequestLimitExceeded.UinLimitExceeded", 429),
        ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", 429),
        ("RequestLimitExceeded.IPLimitExceeded", 429),
        ("RequestLimitExceeded.NewOne", 429),
        # transient
        ("InternalError.Timeout", 503),
        ("InternalError.SendAndRecvFail", 503),
        ("ClientNetworkError", 503),
        ("ServerNetworkError", 503),
        ("ServiceUnavailable", 503),
        # everything else
        ("AuthFailure.SecretIdNotFound", 502),
        ("AuthFailure.SignatureFailure", 502),
        ("AuthFailure.SignatureExpire", 502),
        ("AuthFailure.UnauthorizedOperation", 502),
        ("UnauthorizedOperation.RequestPermissionDeny", 502),
        ("UnauthorizedOperation.RequestIpNotInWhitelist", 502),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", 502),
        ("UnauthorizedOperation.ServiceSuspendDueToArrears", 502),
        ("FailedOperation.InsufficientBalanceInSmsPackage", 502),
        ("InternalError.RequestTimeException", 502),
        ("InternalError", 503),
        ("InternalError.OtherError", 502),
        ("InvalidAction", 502),
        ("UnsupportedRegion", 502),
        ("InvalidCredential", 502),
        ("TotallyUnknown", 502),
        # product-local codes keep their own status
        ("AuthFailure.Unauthorized", 401),
        ("NotFound", 404),
        ("MethodNotAllowed", 405),
    ],
)
def test_http_status(code: str, status: int) -> None:
    assert http_status(code) == status


def test_every_catalogued_code_has_a_sane_status() -> None:
    for code, entry in CATALOGUE.items():
        status = http_status(code)
        assert status in {400, 401, 404, 405, 429, 502, 503}, code
        if entry.category == "rate_limit":
            assert status == 429, code
        if entry.category == "transient":
            assert status == 503, code
        if entry.category in {"auth", "permission", "billing", "clock", "upstream"} and code not in (
            catalogue.LOCAL_HTTP_STATUS
        ):
            assert status == 502, code


def test_retry_after() -> None:
    assert retry_after_seconds("RequestLimitExceeded.UinLimitExceeded") == 1
    assert retry_after_seconds("InternalError.Timeout") == 5
    assert retry_after_seconds("ClientNetworkError") == 5
    assert retry_after_seconds("InvalidParameter") is None
    assert retry_after_seconds("UnauthorizedOperation.ServiceSuspendDueToArrears") is None


# --- error_info -------------------------------------------------------------------------------


def test_error_info_builds_the_model() -> None:
    info = error_info(
        "UnauthorizedOperation.ServiceSuspendDueToArrears",
        "account in arrears; Credential=AKIDabcdefghijklmnopqr/2021",
        request_id="3314836f-0b10-45cb-b7be-593e84c1c197",
    )
    assert isinstance(info, ErrorInfo)
    assert info.code == "UnauthorizedOperation.ServiceSuspendDueToArrears"
    assert info.severity == "critical"
    assert info.category == "billing"
    assert info.retryable is False
    assert info.request_id == "3314836f-0b10-45cb-b7be-593e84c1c197"
    assert "top up" in info.hint
    assert "AKIDabcdefghijklmnopqr" not in info.message
    assert info.message.startswith("account in arrears")
    dumped = info.model_dump(mode="json")
    assert set(dumped) == {"code", "message", "request_id", "severity", "category", "retryable", "hint"}


CANARY_KEY = "CANARYsecretKEY0123456789abcdefXY"


def test_error_info_in_chinese_and_with_secrets() -> None:
    info = error_info("RequestLimitExceeded.Foo", f"too fast {CANARY_KEY}", lang="zh", secrets=[CANARY_KEY])
    assert info.code == "RequestLimitExceeded.Foo"
    assert info.category == "rate_limit" and info.retryable is True
    assert CJK.search(info.hint)
    assert CANARY_KEY not in info.message
    assert info.request_id is None


def test_error_info_for_unknown_code() -> None:
    info = error_info("Brand.NewCode", "x" * 2000)
    assert (info.category, info.severity, info.retryable) == ("upstream", "warning", False)
    assert len(info.message) <= 500
