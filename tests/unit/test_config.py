"""Configuration from the environment (README "Configuration"): every variable, defaults, and issues."""

from __future__ import annotations

from typing import Dict, List

import pytest

from sms_receipt_stats.config import App, ConfigIssue, Endpoint, Settings, load_settings


def load(**env: str):
    return load_settings(env)


def variables(issues: List[ConfigIssue]) -> List[str]:
    return [i.variable for i in issues]


# -- defaults ---------------------------------------------------------------------------------


def test_empty_environment_gives_the_documented_defaults() -> None:
    settings, issues = load_settings({})
    assert issues == []
    assert settings.secret_id is None and settings.secret_key is None and settings.session_token is None
    assert settings.region == "ap-guangzhou"
    assert settings.endpoint == Endpoint(host="sms.tencentcloudapi.com", scheme="https")
    assert settings.apps == ()
    assert settings.api_rps == 10.0
    assert settings.timezone == "Asia/Shanghai"
    assert settings.lang == "en"
    assert settings.sinks == ()
    assert settings.api_tokens == ()
    assert settings.api_auth == "token"
    assert settings.api_allowed_app_ids == ()
    t = settings.thresholds
    assert (t.success_rate_min, t.success_rate_critical, t.receipt_rate_min, t.min_volume) == (0.90, 0.70, 0.80, 100)


def test_load_settings_never_raises_on_garbage() -> None:
    garbage = "\x00\n,=,=#%%\u202e" * 3
    env = {name: garbage for name in (
        "TENCENTCLOUD_SECRETID", "SMS_REGION", "SMS_ENDPOINT", "SMS_SDK_APP_IDS", "SMS_API_RPS",
        "REPORT_TIMEZONE", "REPORT_LANG", "NOTIFY_URLS", "API_TOKENS", "API_AUTH", "API_ALLOWED_APP_IDS",
        "ALERT_SUCCESS_RATE_MIN", "ALERT_SUCCESS_RATE_CRITICAL", "ALERT_RECEIPT_RATE_MIN", "ALERT_MIN_VOLUME")}
    settings, issues = load_settings(env)
    assert isinstance(settings, Settings)
    named = set(variables(issues))
    for name in ("SMS_REGION", "SMS_ENDPOINT", "SMS_SDK_APP_IDS", "SMS_API_RPS", "REPORT_TIMEZONE",
                 "REPORT_LANG", "API_AUTH", "ALERT_SUCCESS_RATE_MIN", "ALERT_MIN_VOLUME"):
        assert name in named


# -- credentials ------------------------------------------------------------------------------


def test_scf_credential_names_with_session_token() -> None:
    settings, issues = load(TENCENTCLOUD_SECRETID="AKIDscf", TENCENTCLOUD_SECRETKEY="scf-key",
                            TENCENTCLOUD_SESSIONTOKEN="scf-token")
    assert issues == []
    assert settings.secret_id == "AKIDscf"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "scf-key"
    assert settings.session_token is not None and settings.session_token.get_secret_value() == "scf-token"


def test_sdk_credential_names_used_when_scf_names_are_absent() -> None:
    settings, _ = load(TENCENTCLOUD_SECRET_ID="AKIDsdk", TENCENTCLOUD_SECRET_KEY="sdk-key")
    assert settings.secret_id == "AKIDsdk"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "sdk-key"
    assert settings.session_token is None


def test_scf_credential_names_win_over_sdk_names() -> None:
    settings, _ = load(TENCENTCLOUD_SECRETID="AKIDscf", TENCENTCLOUD_SECRETKEY="scf-key",
                       TENCENTCLOUD_SECRET_ID="AKIDsdk", TENCENTCLOUD_SECRET_KEY="sdk-key",
                       TENCENTCLOUD_SESSIONTOKEN="scf-token")
    assert settings.secret_id == "AKIDscf"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "scf-key"
    assert settings.session_token is not None and settings.session_token.get_secret_value() == "scf-token"


def test_session_token_travels_with_sdk_names_too() -> None:
    settings, _ = load(TENCENTCLOUD_SECRET_ID="AKIDsdk", TENCENTCLOUD_SECRET_KEY="sdk-key",
                       TENCENTCLOUD_SESSIONTOKEN="tmp-token")
    assert settings.session_token is not None and settings.session_token.get_secret_value() == "tmp-token"


def test_secret_key_is_not_shown_by_repr() -> None:
    settings, _ = load(TENCENTCLOUD_SECRETID="AKIDscf", TENCENTCLOUD_SECRETKEY="very-secret-key",
                       TENCENTCLOUD_SESSIONTOKEN="very-secret-token", API_TOKENS="very-secret-api-token")
    text = repr(settings) + str(settings)
    for secret in ("very-secret-key", "very-secret-token", "very-secret-api-token"):
        assert secret not in text


# -- region and endpoint ----------------------------------------------------------------------


def test_region_from_sms_region_then_tencentcloud_region_then_default() -> None:
    assert load(SMS_REGION="ap-beijing", TENCENTCLOUD_REGION="ap-shanghai")[0].region == "ap-beijing"
    assert load(TENCENTCLOUD_REGION="ap-shanghai")[0].region == "ap-shanghai"
    assert load()[0].region == "ap-guangzhou"


def test_bad_region_is_an_issue_naming_the_variable() -> None:
    settings, issues = load(SMS_REGION="Guangzhou!")
    assert settings.region == "ap-guangzhou"
    assert variables(issues) == ["SMS_REGION"]


@pytest.mark.parametrize(
    ("value", "host", "scheme"),
    [
        ("sms.tencentcloudapi.com", "sms.tencentcloudapi.com", "https"),
        ("sms.ap-guangzhou.tencentcloudapi.com", "sms.ap-guangzhou.tencentcloudapi.com", "https"),
        ("127.0.0.1:9000", "127.0.0.1:9000", "https"),
        ("http://127.0.0.1:9000", "127.0.0.1:9000", "http"),
        ("http://127.0.0.1:9000/", "127.0.0.1:9000", "http"),
        ("https://sms.internal.example", "sms.internal.example", "https"),
        ("https://sms.internal.example:8443", "sms.internal.example:8443", "https"),
        ("  http://localhost:8080  ", "localhost:8080", "http"),
    ],
)
def test_sms_endpoint_forms(value: str, host: str, scheme: str) -> None:
    settings, issues = load(SMS_ENDPOINT=value)
    assert issues == []
    assert settings.endpoint == Endpoint(host=host, scheme=scheme)


@pytest.mark.parametrize(
    "value",
    ["ftp://sms.example", "http://host/path", "https://host?x=1", "host:99999", "host:0", "bad host",
     "http://", "host/path", "user@host"],
)
def test_bad_sms_endpoint_is_an_issue_naming_sms_endpoint(value: str) -> None:
    settings, issues = load(SMS_ENDPOINT=value)
    assert variables(issues) == ["SMS_ENDPOINT"]
    assert str(issues[0]).startswith("SMS_ENDPOINT: ")
    assert settings.endpoint == Endpoint()


# -- app ids ----------------------------------------------------------------------------------


def test_app_ids_with_and_without_names() -> None:
    settings, issues = load(SMS_SDK_APP_IDS=" 1400006874=prod , 1400000002,\n1400000009 = marketing team ")
    assert issues == []
    assert settings.apps == (App(app_id="1400006874", name="prod"), App(app_id="1400000002"),
                             App(app_id="1400000009", name="marketing team"))
    assert {a.app_id: a.name for a in settings.apps} == {"1400006874": "prod", "1400000002": None,
                                                          "1400000009": "marketing team"}


def test_duplicate_app_ids_are_listed_once() -> None:
    settings, issues = load(SMS_SDK_APP_IDS="1400006874=prod,1400006874=prod, 1400006874")
    assert [(a.app_id, a.name) for a in settings.apps] == [("1400006874", "prod")]
    assert issues == []


def test_one_app_id_under_two_names_is_an_issue_and_the_first_name_is_kept() -> None:
    settings, issues = load(SMS_SDK_APP_IDS="1400006874=prod,1400000002,1400006874=staging")
    assert [(a.app_id, a.name) for a in settings.apps] == [("1400006874", "prod"), ("1400000002", None)]
    [issue] = issues
    assert issue.variable == "SMS_SDK_APP_IDS"
    assert "1400006874" in issue.message and "different names" in issue.message


@pytest.mark.parametrize("bad", ["140000687", "14000068744", "abc", "2400006874", "1400006874x",
                                 "１４００００６８７４"])
def test_bad_app_id_is_an_issue_naming_the_variable_and_others_survive(bad: str) -> None:
    settings, issues = load(SMS_SDK_APP_IDS=f"1400006874=prod,{bad}=oops,1400000002")
    assert [a.app_id for a in settings.apps] == ["1400006874", "1400000002"]
    assert variables(issues) == ["SMS_SDK_APP_IDS"]
    assert "SmsSdkAppId" in issues[0].message


# -- rate, zone, language ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["5", "2.5", "10", "0.1", " 7 "])
def test_sms_api_rps_within_the_apis_limit(value: str) -> None:
    settings, issues = load(SMS_API_RPS=value)
    assert settings.api_rps == float(value) and issues == []


@pytest.mark.parametrize(("value", "says"), [
    ("1e9", "'1e9' is above 10, the API's documented limit"),
    ("10.5", "'10.5' is above 10, the API's documented limit"),
    ("1e-300", "'1e-300' is below 0.1"),
    ("0.05", "'0.05' is below 0.1"),
    ("0", "'0' is below 0.1"),
    ("-1", "'-1' is below 0.1"),
    ("nan", "not a number"),
    ("inf", "not a number"),
    ("fast", "not a number"),
])
def test_sms_api_rps_outside_its_range_is_an_issue_saying_why(value: str, says: str) -> None:
    settings, issues = load(SMS_API_RPS=value)
    assert settings.api_rps == 10.0
    [issue] = issues
    assert issue.variable == "SMS_API_RPS"
    assert says in issue.message and issue.message.endswith("using 10")


def test_report_timezone() -> None:
    assert load(REPORT_TIMEZONE="Europe/Berlin")[0].timezone == "Europe/Berlin"
    for bad in ("Mars/Olympus", "../etc/passwd", "America"):
        settings, issues = load(REPORT_TIMEZONE=bad)
        assert settings.timezone == "Asia/Shanghai"
        assert variables(issues) == ["REPORT_TIMEZONE"]


@pytest.mark.parametrize(("value", "lang"), [("en", "en"), ("zh", "zh"), ("ZH", "zh"), (" zh ", "zh"), ("", "en")])
def test_report_lang(value: str, lang: str) -> None:
    settings, issues = load(REPORT_LANG=value)
    assert settings.lang == lang
    assert issues == []


def test_unknown_report_lang_is_an_issue() -> None:
    settings, issues = load(REPORT_LANG="fr")
    assert settings.lang == "en"
    assert variables(issues) == ["REPORT_LANG"]


# -- sinks --------------------------------------------------------------------------------------


def test_notify_urls_are_parsed_and_bad_entries_named() -> None:
    settings, issues = load(NOTIFY_URLS="https://hooks.example.com/in/abc, ftp://nope.example/x")
    assert [s.kind for s in settings.sinks] == ["webhook"]
    assert variables(issues) == ["NOTIFY_URLS"]


def test_an_ignored_sink_option_is_an_issue_but_the_sink_still_loads() -> None:
    settings, issues = load(NOTIFY_URLS="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k#secret=wecom-canary")
    assert [s.kind for s in settings.sinks] == ["wecom"]
    [issue] = issues
    assert issue.variable == "NOTIFY_URLS" and "secret=" in issue.message and "not signed" in issue.message
    assert "wecom-canary" not in str(issue)


# -- HTTP lookups -------------------------------------------------------------------------------


def test_api_tokens_comma_separated() -> None:
    settings, _ = load(API_TOKENS=" tok-one ,tok-two,, ")
    assert [t.get_secret_value() for t in settings.api_tokens] == ["tok-one", "tok-two"]


@pytest.mark.parametrize(("value", "auth"), [("token", "token"), ("TOKEN", "token"), (" Token ", "token"),
                                             ("none", "none"), (" none\n", "none"), ("", "token")])
def test_api_auth(value: str, auth: str) -> None:
    settings, issues = load(API_AUTH=value)
    assert settings.api_auth == auth
    assert issues == []


@pytest.mark.parametrize("value", ["None", "NONE", "nOne", "no ne", "off", "false", "0", "null"])
def test_only_lower_case_none_turns_authentication_off(value: str) -> None:
    settings, issues = load(API_AUTH=value)
    assert settings.api_auth == "token"
    [issue] = issues
    assert issue.variable == "API_AUTH" and "using token" in issue.message
    assert repr(value) not in issue.message


def test_unknown_api_auth_fails_closed() -> None:
    settings, issues = load(API_AUTH="off")
    assert settings.api_auth == "token"
    assert variables(issues) == ["API_AUTH"]


def test_api_allowed_app_ids_default_to_configured_apps() -> None:
    settings, _ = load(SMS_SDK_APP_IDS="1400006874=prod,1400000002")
    assert settings.api_allowed_app_ids == ("1400006874", "1400000002")


def test_api_allowed_app_ids_explicit_and_bad_one_named() -> None:
    settings, issues = load(SMS_SDK_APP_IDS="1400006874=prod", API_ALLOWED_APP_IDS="1400000002,nope")
    assert settings.api_allowed_app_ids == ("1400000002",)
    assert variables(issues) == ["API_ALLOWED_APP_IDS"]


# -- thresholds ---------------------------------------------------------------------------------

THRESHOLD_VARS = {
    "ALERT_SUCCESS_RATE_MIN": ("success_rate_min", 0.90),
    "ALERT_SUCCESS_RATE_CRITICAL": ("success_rate_critical", 0.70),
    "ALERT_RECEIPT_RATE_MIN": ("receipt_rate_min", 0.80),
}


@pytest.mark.parametrize("variable", sorted(THRESHOLD_VARS))
def test_threshold_values_in_range_are_used(variable: str) -> None:
    field, _ = THRESHOLD_VARS[variable]
    # the other success-rate threshold out of the way: critical must not be above min
    other = {"ALERT_SUCCESS_RATE_MIN": {"ALERT_SUCCESS_RATE_CRITICAL": "0"},
             "ALERT_SUCCESS_RATE_CRITICAL": {"ALERT_SUCCESS_RATE_MIN": "1"}}.get(variable, {})
    for raw, value in (("0.95", 0.95), ("0", 0.0), ("1", 1.0), (" 0.5 ", 0.5)):
        settings, issues = load(**{variable: raw}, **other)
        assert getattr(settings.thresholds, field) == value
        assert issues == []


@pytest.mark.parametrize("variable", sorted(THRESHOLD_VARS))
@pytest.mark.parametrize("raw", ["1.5", "-0.1", "90", "ninety", "nan"])
def test_threshold_outside_0_1_is_an_issue_and_default_kept(variable: str, raw: str) -> None:
    field, default = THRESHOLD_VARS[variable]
    settings, issues = load(**{variable: raw})
    assert getattr(settings.thresholds, field) == default
    assert variables(issues) == [variable]


def test_critical_threshold_above_the_warning_threshold_is_an_issue() -> None:
    settings, issues = load(ALERT_SUCCESS_RATE_MIN="0.9", ALERT_SUCCESS_RATE_CRITICAL="0.95")
    [issue] = issues
    assert issue.variable == "ALERT_SUCCESS_RATE_CRITICAL" and "ALERT_SUCCESS_RATE_MIN" in issue.message
    assert (settings.thresholds.success_rate_min, settings.thresholds.success_rate_critical) == (0.9, 0.9)
    settings, issues = load(ALERT_SUCCESS_RATE_CRITICAL="0.95")  # above the default 0.90 too
    assert variables(issues) == ["ALERT_SUCCESS_RATE_CRITICAL"]
    assert load(ALERT_SUCCESS_RATE_MIN="0.8", ALERT_SUCCESS_RATE_CRITICAL="0.8")[1] == []


def test_alert_min_volume() -> None:
    assert load(ALERT_MIN_VOLUME="0")[0].thresholds.min_volume == 0
    assert load(ALERT_MIN_VOLUME="2500")[0].thresholds.min_volume == 2500
    for bad in ("-5", "1.5", "many", "１０"):
        settings, issues = load(ALERT_MIN_VOLUME=bad)
        assert settings.thresholds.min_volume == 100
        assert variables(issues) == ["ALERT_MIN_VOLUME"]


# -- secrets ------------------------------------------------------------------------------------


def test_secret_values_contain_every_secret() -> None:
    env: Dict[str, str] = {
        "TENCENTCLOUD_SECRETID": "AKIDnotasecret",
        "TENCENTCLOUD_SECRETKEY": "secret-key-canary",
        "TENCENTCLOUD_SESSIONTOKEN": "session-token-canary",
        "API_TOKENS": "api-token-one,api-token-two",
        "NOTIFY_URLS": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-canary,"
                       "https://oapi.dingtalk.com/robot/send?access_token=ding-token-canary#secret=SECding-canary",
    }
    settings, issues = load_settings(env)
    assert issues == []
    values = settings.secret_values()
    for secret in ("secret-key-canary", "session-token-canary", "api-token-one", "api-token-two",
                   "wecom-key-canary", "ding-token-canary", "SECding-canary"):
        assert secret in values
    assert "AKIDnotasecret" not in values


# -- dashboard links ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://1250000000-abcd1234ef.ap-guangzhou.tencentscf.com", "https://1250000000-abcd1234ef.ap-guangzhou.tencentscf.com"),
    ("https://service-f94sy04v-1250000000.gz.apigw.tencentcs.com/release/", "https://service-f94sy04v-1250000000.gz.apigw.tencentcs.com/release"),
    ("  http://127.0.0.1:8000  ", "http://127.0.0.1:8000"),
])
def test_public_url_is_a_base_url_without_trailing_slash(raw: str, expected: str) -> None:
    settings, issues = load(PUBLIC_URL=raw, LINK_SECRET="0123456789abcdef")
    assert issues == [] and settings.public_url == expected and settings.links_enabled


@pytest.mark.parametrize("raw", ["ftp://example.com", "example.com", "https://", "https://a.com/x?y=1",
                                 "https://a.com/#top", "https://user:pw@a.com", "https://a.com/(x)",
                                 "https://a.com/a b", "https://a.com:99999", 'https://a.com/"x'])
def test_a_bad_public_url_is_a_config_issue_and_turns_links_off(raw: str) -> None:
    settings, issues = load(PUBLIC_URL=raw, LINK_SECRET="0123456789abcdef")
    assert [i.variable for i in issues] == ["PUBLIC_URL"]
    assert settings.public_url is None and not settings.links_enabled
    assert "user:pw" not in str(issues[0]) and "pw@" not in str(issues[0])


def test_a_short_link_secret_is_refused_without_showing_it() -> None:
    settings, issues = load(PUBLIC_URL="https://a.com", LINK_SECRET="short-secret")
    assert [i.variable for i in issues] == ["LINK_SECRET"] and "short-secret" not in str(issues[0])
    assert settings.link_secret is None and not settings.links_enabled


def test_link_secret_is_a_secret() -> None:
    settings, _ = load(LINK_SECRET="a-long-enough-link-secret")
    assert "a-long-enough-link-secret" in settings.secret_values()
    assert "a-long-enough-link-secret" not in repr(settings) + str(settings.model_dump())
    assert not settings.links_enabled  # no PUBLIC_URL: signed links still open the page, chats carry none
