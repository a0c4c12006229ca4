"""GET .../dashboard through the doorway: auth (token or signed link), parameters, headers,
what is queried, and failures, with the function URL event fixture."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_receipt_stats import links
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dashboard import CSP, handle_dashboard
from sms_receipt_stats.events import ApiGatewayEvent
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.windows import buckets, named_window, split_for_api
from support import API_TOKEN, APP_MARKETING, APP_PROD, APP_STAGING, NOW, FakeFetcher, base_env

LINK_SECRET = "dashboard-link-secret-0123456789"
HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Frame-Options": "DENY",
}


def env(**over: Optional[str]) -> Dict[str, str]:
    return base_env(**{"LINK_SECRET": LINK_SECRET, "PUBLIC_URL": "https://fn.example.com", **over})


def expected_calls(app_id: str, window: str, granularity: str) -> List[Tuple[str, str, str]]:
    """The API calls of one app's series, computed the way the query layer splits a window."""
    whole = named_window(window, NOW, "Asia/Shanghai")
    return sorted((app_id, part.begin_time, part.end_time)
                  for bucket in buckets(whole, granularity) for part in split_for_api(bucket.counted()))


def dashboard_event(load_event: Callable[[str], Dict[str, Any]], query: Optional[Dict[str, Any]] = None,
                    token: Optional[str] = API_TOKEN) -> Dict[str, Any]:
    event = load_event("function_url_get_dashboard")
    if query is not None:
        event["queryString"] = dict(query)
    event["headers"].pop("authorization")
    if token is not None:
        event["headers"]["authorization"] = f"Bearer {token}"
    return event


def signed(app_id: str = APP_PROD, window: str = "last_7d", ttl: timedelta = timedelta(days=7),
           secret: str = LINK_SECRET) -> Dict[str, str]:
    url = links.dashboard_link("https://fn.example.com", secret, app_ids=app_id.split(","), window=window,
                               now=NOW, ttl=ttl)
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def html_error(response: Dict[str, Any], status: int, code: str) -> str:
    """An error page for a person: HTML, every security header of the page itself, the code shown."""
    assert response["statusCode"] == status, response["body"][:300]
    for name, value in HTML_HEADERS.items():
        assert response["headers"][name] == value, name
    body = response["body"]
    assert body.startswith("<!DOCTYPE html>") and f"<code>{code}</code>" in body
    assert "<script" not in body and '"error":' not in body
    return body


# -- success ------------------------------------------------------------------------------------------------------


def test_function_url_event_with_a_token_answers_the_page(invoke: Callable[..., Dict[str, Any]], load_event,
                                                          fetcher: FakeFetcher) -> None:
    response = invoke(load_event("function_url_get_dashboard"), env=env())
    assert response["statusCode"] == 200
    assert response["headers"] == HTML_HEADERS
    assert response["isBase64Encoded"] is False
    body = response["body"]
    assert body.startswith("<!DOCTYPE html>") and 'id="app-1400006874"' in body
    # last_7d: one API call per day, as the query layer sends a day
    assert sorted(fetcher.calls) == expected_calls(APP_PROD, "last_7d", "day")


def test_default_is_every_allowed_app_over_the_last_30_days(invoke, load_event, fetcher: FakeFetcher) -> None:
    response = invoke(dashboard_event(load_event, {}), env=env())
    assert response["statusCode"] == 200
    for app in (APP_PROD, APP_STAGING, APP_MARKETING):
        assert f'id="app-{app}"' in response["body"]
        assert len(fetcher.calls_for(app)) == 30
    window = named_window("last_30d", NOW, "Asia/Shanghai")
    assert min(c[1] for c in fetcher.calls) == window.begin_str


def test_short_windows_are_charted_per_hour(invoke, load_event, fetcher: FakeFetcher) -> None:
    response = invoke(dashboard_event(load_event, {"app_id": APP_PROD, "window": "last_24h"}), env=env())
    assert response["statusCode"] == 200 and "Rates per hour" in response["body"]
    assert sorted(fetcher.calls) == expected_calls(APP_PROD, "last_24h", "hour")


def test_an_explicit_window_and_several_apps(invoke, load_event, fetcher: FakeFetcher) -> None:
    query = {"app_id": f"{APP_PROD},{APP_STAGING}", "window": "2026110100-2026110400", "lang": "zh"}
    response = invoke(dashboard_event(load_event, query), env=env())
    assert response["statusCode"] == 200 and "每日比率" in response["body"]
    assert sorted({c[0] for c in fetcher.calls}) == sorted([APP_PROD, APP_STAGING])
    assert len(fetcher.calls) == 6


def test_a_second_30_day_page_asks_the_api_for_unsettled_days_only(invoke, load_event, fetcher, tmp_path) -> None:
    """The page goes through the lookups' querier, so the settled cache serves the old days."""
    environment = env(STATE_URL=f"sqlite:///{tmp_path}/state.db", SETTLE_HOURS="72")
    event = load_event("function_url_get_dashboard")
    event["queryString"] = {}  # every app, the default window: last_30d
    assert invoke(event, env=environment)["statusCode"] == 200
    first = len(fetcher.calls)
    assert first == 3 * 30  # three apps, one call per day
    assert invoke(event, env=environment)["statusCode"] == 200
    second = len(fetcher.calls) - first
    # only the days that ended less than 72 hours ago are asked again (3 or 4 per app)
    assert 0 < second <= 3 * 4, second


# -- auth -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_a_valid_token_or_link_it_is_an_html_401(invoke, load_event, fetcher, token) -> None:
    response = invoke(dashboard_event(load_event, token=token), env=env())
    body = html_error(response, 401, "AuthFailure.Unauthorized")
    assert "Sign-in needed" in body and "Authorization: Bearer" in body
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert fetcher.calls == []


def test_a_signed_link_opens_the_page_without_a_token(invoke, load_event, fetcher) -> None:
    params = signed(APP_PROD, "last_7d")
    response = invoke(dashboard_event(load_event, params, token=None), env=env())
    assert response["statusCode"] == 200
    assert response["headers"] == HTML_HEADERS
    assert {c[0] for c in fetcher.calls} == {APP_PROD}
    # the page offers the same link in the other language (the language is not signed)
    assert "lang=zh" in response["body"] and params["sig"] in response["body"]


@pytest.mark.parametrize("change", [
    {"app_id": APP_STAGING},
    {"app_id": f"{APP_PROD},{APP_STAGING}"},
    {"window": "last_30d"},
    {"window": None},  # falling back on the default window would widen it too
    {"app_id": None},  # ... and so would "every app"
    {"exp": "99999999999"},
    {"sig": None},
])
def test_a_signed_link_cannot_be_changed(invoke, load_event, fetcher, change: Dict[str, Optional[str]]) -> None:
    params = {k: v for k, v in {**signed(APP_PROD, "last_7d"), **change}.items() if v is not None}
    html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 401, "AuthFailure.Unauthorized")
    assert fetcher.calls == []


def test_an_expired_link_says_so_and_how_to_get_a_fresh_one(invoke, load_event, fetcher) -> None:
    params = signed(ttl=timedelta(seconds=-1))
    body = html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 401,
                      "AuthFailure.Unauthorized")
    assert "This link has expired" in body and "newest report or alert" in body
    assert '<html lang="en">' in body and fetcher.calls == []


def test_an_expired_link_in_chinese(invoke, load_event, fetcher) -> None:
    params = {**signed(ttl=timedelta(seconds=-1)), "lang": "zh"}
    body = html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 401,
                      "AuthFailure.Unauthorized")
    assert '<html lang="zh-CN">' in body and "链接已过期" in body and "最新一条报告" in body


def test_a_changed_link_is_not_called_expired(invoke, load_event, fetcher) -> None:
    params = {**signed(), "window": "last_30d"}
    body = html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 401,
                      "AuthFailure.Unauthorized")
    assert "This link is not valid" in body and "expired" not in body


def test_links_are_refused_when_link_secret_is_not_set(invoke, load_event, fetcher) -> None:
    body = html_error(invoke(dashboard_event(load_event, signed(), token=None), env=env(LINK_SECRET=None)),
                      401, "AuthFailure.Unauthorized")
    assert "Signed links are switched off" in body and "not enabled" in body


def test_a_link_signed_with_another_key_is_refused(invoke, load_event, fetcher) -> None:
    params = signed(secret="another-secret-0123456789")
    html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 401, "AuthFailure.Unauthorized")


def test_a_link_to_an_app_the_function_does_not_know_is_403(invoke, load_event, fetcher) -> None:
    params = signed("1400999999")
    html_error(invoke(dashboard_event(load_event, params, token=None), env=env()), 403,
               "UnauthorizedOperation.RequestPermissionDeny")
    assert fetcher.calls == []


def test_a_token_may_only_ask_for_allowed_apps(invoke, load_event, fetcher) -> None:
    response = invoke(dashboard_event(load_event, {"app_id": APP_STAGING}), env=env(API_ALLOWED_APP_IDS=APP_PROD))
    html_error(response, 403, "UnauthorizedOperation.RequestPermissionDeny")
    response = invoke(dashboard_event(load_event, {}), env=env(API_ALLOWED_APP_IDS=APP_PROD))
    assert response["statusCode"] == 200 and f'id="app-{APP_STAGING}"' not in response["body"]


# -- bad requests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "code"), [
    ({"app_id": "12345"}, "InvalidParameter"),
    ({"app_id": APP_PROD, "window": "last_year"}, "InvalidParameterValue.BeginTimeVerifyFail"),
    ({"app_id": APP_PROD, "window": "2026110400-2026110100"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "window": "2024010100-2026110100"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "lang": "fr"}, "InvalidParameter"),
    ({"app_id": [APP_PROD, APP_STAGING]}, "InvalidParameter"),
])
def test_bad_parameters_are_400_before_any_query(invoke, load_event, fetcher, query, code) -> None:
    body = html_error(invoke(dashboard_event(load_event, query), env=env()), 400, code)
    assert "This address is not right" in body
    assert fetcher.calls == []


def test_only_get(invoke, load_event, fetcher: FakeFetcher) -> None:
    event = load_event("function_url_get_dashboard")
    event["httpMethod"] = "POST"
    event["queryString"] = {**event.get("queryString", {}), "lang": "zh"}
    response = invoke(event, env=env())
    # the route table answers the method, with the dashboard's own answer: an HTML error page
    # in the page's language (it was the JSON body of /stats before the one router)
    body = html_error(response, 405, "MethodNotAllowed")
    assert response["headers"]["Allow"] == "GET, HEAD"
    assert '<html lang="zh' in body
    assert fetcher.calls == []


def test_head_is_answered_like_get_without_a_body(invoke, load_event, fetcher: FakeFetcher) -> None:
    """`curl -I .../dashboard` (a newcomer's first probe) got a 405 page: now the GET's status and headers."""
    event = load_event("function_url_get_dashboard")
    get = invoke(event, env=env())
    event["httpMethod"] = "HEAD"
    head = invoke(event, env=env())
    assert (head["statusCode"], head["headers"], head["body"]) == (200, get["headers"], "")
    assert get["statusCode"] == 200 and get["body"]
    del event["headers"]["authorization"]
    refused = invoke(event, env=env())  # an error is answered as its GET would be, without the page
    assert refused["statusCode"] == 401 and refused["body"] == "" and "WWW-Authenticate" in refused["headers"]


def test_any_prefix_ending_in_dashboard_routes(invoke, load_event) -> None:
    event = load_event("function_url_get_dashboard")
    event["path"] = "/release/dashboard/"
    assert invoke(event, env=env())["statusCode"] == 200


# -- failures -------------------------------------------------------------------------------------------------------


def test_one_failing_app_never_hides_the_others(invoke, load_event, fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_STAGING, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    response = invoke(dashboard_event(load_event, {"window": "last_7d"}), env=env())
    assert response["statusCode"] == 200
    body = response["body"]
    assert "UnauthorizedOperation.ServiceSuspendDueToArrears" in body
    assert body.count('<svg class="chart lines"') == 2  # prod and marketing still charted


def test_when_every_app_failed_the_status_says_so_and_the_page_explains(invoke, load_event, fetcher) -> None:
    fetcher.fail(APP_PROD, "RequestLimitExceeded")
    response = invoke(load_event("function_url_get_dashboard"), env=env(), deps=None)
    assert response["statusCode"] == 429 and "Retry-After" in response["headers"]
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "RequestLimitExceeded" in response["body"]


def test_no_secret_in_the_page_or_the_logs(invoke, load_event, capsys: pytest.CaptureFixture) -> None:
    params = signed()
    response = invoke(dashboard_event(load_event, params, token=None), env=env())
    assert response["statusCode"] == 200
    out = capsys.readouterr()
    for secret in (LINK_SECRET, API_TOKEN, base_env()["TENCENTCLOUD_SECRETKEY"]):
        assert secret not in response["body"] and secret not in out.out + out.err
    assert params["sig"] not in out.out + out.err  # nor the link itself


# -- state ----------------------------------------------------------------------------------------------------------


def test_current_alerts_and_silences_come_from_the_state_store(state_env, make_deps, fetcher, load_event) -> None:
    """A real store (SQLite and Redis): a check records an alert, a silence is added, the page shows both."""
    from sms_receipt_stats.app import handle
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.silences import Matchers, Silence, SilenceStore
    from sms_receipt_stats.stats import Stats

    environment = env(**state_env)
    fetcher.stats_for[APP_PROD] = Stats(RequestSuccessCount=1000, CallbackCount=1000, CallbackSuccessCount=500,
                                        CallbackFailCount=500, ShutdownErrorCount=500)
    deps: JobDeps = make_deps()
    check = {"Type": "Timer", "TriggerName": "hourly-check", "Time": NOW.isoformat(),
             "Message": {"job": "check", "window": "last_hour", "app_ids": [APP_PROD]}}
    doc = handle(check, None, env=environment, deps=deps)
    assert [a["rule"] for a in doc["alerts"]] == ["success_rate_below"]
    settings, _ = load_settings(environment)
    store = open_state(settings)
    assert store is not None
    try:
        SilenceStore(store).add(Silence(id="s1", matchers=Matchers(app_id=APP_PROD), starts_at=NOW,
                                        ends_at=NOW + timedelta(days=1), created_by="ops",
                                        comment="planned carrier maintenance"), NOW)
        event = ApiGatewayEvent.parse(load_event("function_url_get_dashboard"))
        body = handle_dashboard(event, settings, deps, None, store=store)["body"]
    finally:
        store.close()
    assert "planned carrier maintenance" in body and "No state store" not in body
    assert doc["alerts"][0]["message"] in body or "success" in body.lower()


# -- the time limit -------------------------------------------------------------------------------------------------


def page_with_deadline(load_event, make_deps, clock, seconds: float, environment: Dict[str, str]) -> Dict[str, Any]:
    """The page as SCF would run it with `seconds` left before the function's deadline."""
    settings, _ = load_settings(environment)
    event = ApiGatewayEvent.parse(dashboard_event(load_event, {}))
    deps = make_deps()
    return handle_dashboard(event, settings, deps, clock.monotonic() + seconds, store=None)


def test_without_a_store_the_page_shows_the_newest_days_that_fit_and_says_so(load_event, make_deps, clock,
                                                                                fetcher: FakeFetcher) -> None:
    # 10 s left: (10 - 3 reserved) s × 10 calls/s × 0.85 = 59 calls; 3 apps × 30 days would be 90
    response = page_with_deadline(load_event, make_deps, clock, 10.0, env())
    assert response["statusCode"] == 200
    assert len(fetcher.calls) == 3 * 19  # the newest 19 days of every app
    newest = set(expected_calls(APP_PROD, "last_30d", "day")[-19:])
    assert set(fetcher.calls_for(APP_PROD)) == newest
    assert "Showing the last 19 of 30 days" in response["body"] and "90 API calls at 10/s" in response["body"]


def test_when_not_even_a_day_per_app_fits_the_first_apps_are_shown_and_the_rest_named(load_event, make_deps, clock,
                                                                                       fetcher: FakeFetcher) -> None:
    response = page_with_deadline(load_event, make_deps, clock, 3.3, env())  # 2 calls
    assert len(fetcher.calls) == 2 and {c[0] for c in fetcher.calls} == {APP_PROD, APP_STAGING}
    body = response["body"]
    assert "marketing" in body and "not shown: no time left" in body
    assert f'id="app-{APP_MARKETING}"' not in body


def test_with_enough_time_nothing_is_left_out(load_event, make_deps, clock, fetcher: FakeFetcher) -> None:
    response = page_with_deadline(load_event, make_deps, clock, 55.0, env())
    assert len(fetcher.calls) == 90 and "Showing the last" not in response["body"]


def test_cached_days_cost_nothing_in_the_plan(load_event, make_deps, clock, fetcher, sqlite_store) -> None:
    """With a warm settled cache the same 10 s show the whole window: only unsettled days are asked."""
    from sms_receipt_stats.state.cache import SettledCache

    settings, _ = load_settings(env())
    cache = SettledCache(FakeFetcher(), sqlite_store, now=lambda: NOW, settle_hours=settings.settle_hours)
    for app_id in (APP_PROD, APP_STAGING, APP_MARKETING):
        for call in expected_calls(app_id, "last_30d", "day"):
            cache.fetch(*call)
    event = ApiGatewayEvent.parse(dashboard_event(load_event, {}))
    response = handle_dashboard(event, settings, make_deps(), clock.monotonic() + 10.0, store=sqlite_store)
    assert response["statusCode"] == 200 and "Showing the last" not in response["body"]
    assert 0 < len(fetcher.calls) <= 3 * 4


# -- an unreachable endpoint ----------------------------------------------------------------------------------------


def test_an_unreachable_endpoint_stops_the_page_at_once_and_says_so(invoke, load_event, fetcher) -> None:
    from sms_receipt_stats.sdk import network_error

    def refuse(app_id: str, begin: str, end: str) -> None:
        raise network_error("ConnectionRefusedError: [Errno 111] Connection refused")

    fetcher.on_fetch = refuse
    response = invoke(dashboard_event(load_event, {}), env=env())
    assert response["statusCode"] == 503 and "Retry-After" in response["headers"]
    assert len(fetcher.calls) <= 16  # at most the calls already in flight; 90 without the stop
    body = response["body"]
    assert body.count("endpoint unreachable") >= 3 and "InternalError.Timeout" not in body
    assert "query shorter windows" not in body
