"""deliver_all: order, concurrency, retry and deadline, routing, and that secrets never leak."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Iterator, List

import pytest
import requests
import responses
from sink_support import Sleeper, checked_settings, document, mocked_hooks

from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify import delivery as delivery_module
from sms_receipt_stats.notify.base import DeliveryContext, DeliveryError, Sink, parse_retry_after
from sms_receipt_stats.notify.delivery import build_sinks, deliver_all
from sms_receipt_stats.notify.platforms import registry
from sms_receipt_stats.notify.platforms.cmq import CmqQueueSink, CmqTopicSink
from sms_receipt_stats.notify.platforms.cmq_api import CmqApiQueueSink, CmqApiTopicSink
from sms_receipt_stats.notify.platforms.dingtalk import DingTalkSink
from sms_receipt_stats.notify.platforms.feishu import FeishuSink, LarkSink
from sms_receipt_stats.notify.platforms.slack import SlackSink
from sms_receipt_stats.notify.platforms.webhook import WebhookSink
from sms_receipt_stats.notify.platforms.wecom import WeComSink
from sms_receipt_stats.redaction import WITHHELD
from support import FakeClock

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK = "https://oapi.dingtalk.com/robot/send"
SLACK = "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"
HOOK_A = "https://a.example.com/hook"
HOOK_B = "https://b.example.com/hook"
HOOK_C = "https://c.example.com/hook"


def settings(*entries: str, **env: str) -> Settings:
    return checked_settings({"NOTIFY_URLS": ",".join(entries), **env})


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with mocked_hooks() as mock:
        yield mock


# -- structure -------------------------------------------------------------------------


def test_build_sinks_maps_every_kind() -> None:
    conf = settings(f"{WECOM}?key=wecom-key-0001", f"{DINGTALK}?access_token=t", "https://open.feishu.cn/open-apis/bot/v2/hook/x",
                    "https://open.larksuite.com/open-apis/bot/v2/hook/y", SLACK, HOOK_A,
                    "cmq://queue/q#endpoint=h.example", "cmq://topic/t#endpoint=h.example", "cmq+api://queue/q",
                    "cmq+api://topic/t")
    types = [type(s) for s in build_sinks(conf.sinks)]
    assert types == [WeComSink, DingTalkSink, FeishuSink, LarkSink, SlackSink, WebhookSink, CmqQueueSink,
                     CmqTopicSink, CmqApiQueueSink, CmqApiTopicSink]
    assert all(isinstance(s, Sink) for s in build_sinks(conf.sinks))


def test_no_sinks_no_deliveries() -> None:
    assert deliver_all(document(), settings()) == []


def test_results_keep_the_order_of_notify_urls_and_skip_sinks_with_nothing_to_send(
    http: responses.RequestsMock,
) -> None:
    http.post(HOOK_A, status=200)
    http.post(HOOK_B, status=500)
    http.post(WECOM, json={"errcode": 0, "errmsg": "ok"})
    http.post(SLACK, body="ok")
    conf = settings(f"{HOOK_B}#min_severity=info", f"{HOOK_A}#min_severity=critical", f"{WECOM}?key=wecom-key-0001",
                    f"{SLACK}#min_severity=warning")
    result = deliver_all(document("report", "warning"), conf, sleep=Sleeper())
    # HOOK_A wants critical only: no entry. The others keep their NOTIFY_URLS order.
    assert [(d.sink, d.ok, d.attempts) for d in result] == [("webhook", False, 3), ("wecom", True, 1),
                                                              ("slack", True, 1)]
    assert result[0].error.startswith("webhook#1(b.example.com): HTTP 500")
    assert not [c for c in http.calls if c.request.url.startswith(HOOK_A)]


def test_a_secret_too_short_to_mask_withholds_the_platforms_text_but_names_the_sink(
    http: responses.RequestsMock,
) -> None:
    http.post(HOOK_B, status=400, body="bad request: key=k rejected")
    [delivery] = deliver_all(document("report"), settings(f"{HOOK_B}#secret=k"), sleep=Sleeper())
    assert not delivery.ok
    assert delivery.error == f"webhook#1(b.example.com): {WITHHELD}"


def test_chat_routing_by_min_severity(http: responses.RequestsMock) -> None:
    http.post(SLACK, body="ok")
    info, warning, critical = (f"{SLACK}#min_severity={s}" for s in ("info", "warning", "critical"))
    assert len(deliver_all(document("report"), settings(info), sleep=Sleeper())) == 1
    assert deliver_all(document("report"), settings(warning), sleep=Sleeper()) == []
    assert deliver_all(document("check"), settings(info), sleep=Sleeper()) == []
    assert len(deliver_all(document("check", "warning"), settings(warning), sleep=Sleeper())) == 1
    assert deliver_all(document("check", "warning"), settings(critical), sleep=Sleeper()) == []
    assert len(deliver_all(document("check", "critical"), settings(critical), sleep=Sleeper())) == 1


# -- retry -----------------------------------------------------------------------------


def test_network_errors_are_retried_with_growing_backoff(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, body=requests.ConnectionError("boom"))
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3
    assert delivery.error == "webhook#1(a.example.com): network error (ConnectionError)"
    assert len(sleeper.waits) == 2
    assert 0.5 <= sleeper.waits[0] <= 0.625 and 1.0 <= sleeper.waits[1] <= 1.25


def test_timeouts_are_retried_then_succeed(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, body=requests.ReadTimeout("read timed out"))
    http.post(HOOK_A, status=200)
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 2


def test_max_attempts_is_honoured(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, status=503)
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=sleeper, max_attempts=5)
    assert delivery.attempts == 5 and len(sleeper.waits) == 4
    assert sleeper.waits == sorted(sleeper.waits) and max(sleeper.waits) <= 5.0


def test_each_request_gets_a_timeout_of_at_most_10_seconds(http: responses.RequestsMock) -> None:
    seen: List[Any] = []

    def capture(request: requests.PreparedRequest) -> Any:
        seen.append(request.req_kwargs["timeout"])
        return (200, {}, "")

    http.add_callback(responses.POST, HOOK_A, callback=capture)
    clock = FakeClock()
    deliver_all(document(), settings(HOOK_A), sleep=Sleeper())
    deliver_all(document(), settings(HOOK_A), sleep=clock.sleep, clock=clock.monotonic, deadline=clock.now + 3)
    assert seen == [10.0, 3.0]


def test_the_deadline_is_read_on_the_monotonic_clock_by_default(http: responses.RequestsMock) -> None:
    """Jobs pass a deadline of time.monotonic(); read against the wall clock it would lie decades back."""
    seen: List[Any] = []

    def capture(request: requests.PreparedRequest) -> Any:
        seen.append(request.req_kwargs["timeout"])
        return (200, {}, "")

    http.add_callback(responses.POST, HOOK_A, callback=capture)
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=Sleeper(), deadline=time.monotonic() + 3.0)
    assert delivery.ok and delivery.attempts == 1
    assert len(seen) == 1 and 2.0 < seen[0] <= 3.0


def test_retries_stop_when_the_deadline_would_pass(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, status=503)
    clock = FakeClock()
    # after attempt 1 a wait of >= 0.5 s plus a request (1 s) still fits in 2 s; after attempt 2 (1 s wait) not
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=clock.sleep, clock=clock.monotonic,
                             deadline=clock.now + 2.0)
    assert not delivery.ok and delivery.attempts == 2
    assert len(clock.sleeps) == 1
    assert clock.now <= 1000.0 + 2.0


def test_nothing_is_attempted_after_the_deadline(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, status=200)
    clock = FakeClock()
    [delivery] = deliver_all(document(), settings(HOOK_A), sleep=clock.sleep, clock=clock.monotonic,
                             deadline=clock.now - 1)
    assert not delivery.ok and delivery.attempts == 0 and "deadline" in delivery.error
    assert len(http.calls) == 0


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    backoff = delivery_module.SINK_RETRY.delay
    assert backoff(1, rng=lambda: 0.0) == 0.5
    assert backoff(2, rng=lambda: 0.0) == 1.0
    assert backoff(3, rng=lambda: 1.0) == 2.5
    assert backoff(10, rng=lambda: 1.0) == 5.0
    assert backoff(1, retry_after=3, rng=lambda: 0.0) == 3.0
    assert backoff(1, retry_after=600, rng=lambda: 0.0) == 5.0


# -- isolation -------------------------------------------------------------------------


def test_sinks_run_concurrently(http: responses.RequestsMock) -> None:
    """A's answer waits until B has been called: a sequential loop would time A out."""
    b_called = threading.Event()

    def slow_a(request: requests.PreparedRequest) -> Any:
        if not b_called.wait(timeout=5):
            raise requests.ConnectionError("B never ran while A was waiting")
        return (200, {}, "")

    def fast_b(request: requests.PreparedRequest) -> Any:
        b_called.set()
        return (200, {}, "")

    http.add_callback(responses.POST, HOOK_A, callback=slow_a)
    http.add_callback(responses.POST, HOOK_B, callback=fast_b)
    result = deliver_all(document(), settings(HOOK_A, HOOK_B), sleep=Sleeper(), max_attempts=1)
    assert [(d.ok, d.attempts) for d in result] == [(True, 1), (True, 1)]


def test_a_hanging_sink_is_abandoned_at_the_deadline_and_the_others_report(http: responses.RequestsMock) -> None:
    release = threading.Event()
    finished = threading.Event()

    def hang(request: requests.PreparedRequest) -> Any:
        release.wait(timeout=10)
        finished.set()
        return (200, {}, "")

    http.add_callback(responses.POST, HOOK_A, callback=hang)
    http.post(HOOK_B, status=200)
    http.post(HOOK_C, body=requests.ConnectionError("refused"))
    try:
        result = deliver_all(document(), settings(HOOK_A, HOOK_B, HOOK_C), sleep=Sleeper(),
                             clock=time.monotonic, deadline=time.monotonic() + 1.0)
        returned_while_hanging = not finished.is_set()
    finally:
        release.set()
    assert returned_while_hanging  # the hung sink was abandoned, not waited for
    hung, ok, refused = result
    assert (hung.sink, hung.ok, hung.attempts) == ("webhook", False, 1)
    assert "did not finish before the deadline" in hung.error
    assert ok.ok and ok.attempts == 1
    assert not refused.ok and refused.attempts >= 1 and "ConnectionError" in refused.error


def test_a_failing_sink_does_not_stop_the_others(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, body=requests.ConnectionError("refused"))
    http.post(WECOM, json={"errcode": 0, "errmsg": "ok"})
    http.post(HOOK_B, status=204)
    result = deliver_all(document(), settings(HOOK_A, f"{WECOM}?key=wecom-key-0001", HOOK_B), sleep=Sleeper())
    assert [d.ok for d in result] == [False, True, True]


class ExplodingSink(WebhookSink):
    def deliver(self, prepared: Any, ctx: DeliveryContext) -> None:
        raise KeyError("bug")


class UnpreparableSink(WebhookSink):
    def prepare(self, doc: ResultDocument, settings: Settings) -> Any:
        raise TypeError("renderer bug")


def test_an_unexpected_exception_in_a_sink_becomes_a_failed_delivery(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    http.post(WECOM, json={"errcode": 0, "errmsg": "ok"})
    monkeypatch.setitem(registry().sinks, "webhook", ExplodingSink)
    result = deliver_all(document(), settings(HOOK_A, f"{WECOM}?key=wecom-key-0001"), sleep=Sleeper())
    assert [(d.ok, d.attempts) for d in result] == [(False, 1), (True, 1)]
    assert result[0].error == "webhook#1(a.example.com): unexpected KeyError"

    monkeypatch.setitem(registry().sinks, "webhook", UnpreparableSink)
    result = deliver_all(document(), settings(HOOK_A, f"{WECOM}?key=wecom-key-0001"), sleep=Sleeper())
    assert [(d.ok, d.attempts) for d in result] == [(False, 0), (True, 1)]
    assert "TypeError" in result[0].error


def test_send_is_one_attempt_without_retry(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, status=503)
    conf = settings(HOOK_A)
    [sink] = build_sinks(conf.sinks)
    ctx = DeliveryContext(session=requests.Session(), settings=conf)
    with pytest.raises(DeliveryError) as caught:
        sink.send(document(), ctx)
    assert caught.value.transient and caught.value.message == "HTTP 503"
    assert len(http.calls) == 1


# -- secrets ---------------------------------------------------------------------------

CANARY_KEY = "CANARYKEY-0c5b7e1d-4a2f-49be-8d31-wecom"
CANARY_TOKEN = "CANARYTOKEN5f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
CANARY_SECRET = "SECCANARY6a0e4b7b3c9d1e2f3a4b5c6d7e8f9a0b"
CANARY_PATH = "CANARYPATHSEGMENT0123456789abcdef"
CANARY_FEISHU = "CANARYFEISHUSECRET"
CANARY_WHSEC = "whsec_Q0FOQVJZV0VCSE9PS1NFQ1JFVDAxMjM0NTY3ODk="
CANARY_USER_PW = "CANARYPASSWORD42x"
CANARIES = [CANARY_KEY, CANARY_TOKEN, CANARY_SECRET, CANARY_PATH, CANARY_FEISHU, CANARY_WHSEC, CANARY_USER_PW]

FEISHU_URL = f"https://open.feishu.cn/open-apis/bot/v2/hook/{CANARY_PATH}"
WEBHOOK_URL = f"https://hooks.example.net/{CANARY_PATH}/in"


def _echo(request: requests.PreparedRequest) -> Any:
    """A hostile platform answer: it quotes the whole request URL and body back."""
    return (400, {}, f"bad request to {request.url} with {request.body!r}")


def test_canary_secrets_appear_in_no_delivery_log_or_exception(
    http: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.add_callback(responses.POST, WECOM, callback=_echo)
    http.post(DINGTALK, json={"errcode": 310000, "errmsg": f"sign not match, token {CANARY_TOKEN}"})
    http.post(FEISHU_URL, body=requests.ConnectionError(f"HTTPSConnectionPool: Max retries with url: {FEISHU_URL}"))
    http.post(WEBHOOK_URL, body=requests.ReadTimeout(f"timed out: {WEBHOOK_URL}"))
    http.post(SLACK, body=ValueError(f"exploded near {SLACK}"))
    entries = [
        f"{WECOM}?key={CANARY_KEY}#mention=all",
        f"{DINGTALK}?access_token={CANARY_TOKEN}#secret={CANARY_SECRET}",
        f"{FEISHU_URL}#secret={CANARY_FEISHU}",
        f"{WEBHOOK_URL}#secret={CANARY_WHSEC}",
        f"slack+https://bot:{CANARY_USER_PW}@hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX",
    ]
    http.post("https://bot:" + CANARY_USER_PW + "@hooks.slack.com/services/T0000AAAA/B0000BBBB/"
              "XXXXXXXXXXXXXXXXXXXXXXXX", body=ValueError(f"exploded: {CANARY_USER_PW}"))
    result = deliver_all(document("check", "critical"), settings(*entries), sleep=Sleeper())
    assert [d.ok for d in result] == [False] * 5
    assert [d.sink for d in result] == ["wecom", "dingtalk", "feishu", "webhook", "slack"]
    outputs = json.dumps([d.model_dump() for d in result]) + caplog.text
    outputs += "".join(str(r.args) + r.getMessage() for r in caplog.records)
    for canary in [*CANARIES, "XXXXXXXXXXXXXXXXXXXXXXXX"]:
        assert canary not in outputs
    assert "hooks.example.net/" not in outputs and "/robot/send" not in outputs and "/cgi-bin/" not in outputs
    assert all(d.error and len(d.error) <= 200 for d in result)


def test_a_secret_cut_in_half_by_shortening_is_still_masked(http: responses.RequestsMock) -> None:
    http.post(HOOK_A, status=400, body="x" * 170 + CANARY_SECRET)
    [delivery] = deliver_all(document(), settings(f"{HOOK_A}#secret={CANARY_SECRET}"), sleep=Sleeper())
    assert CANARY_SECRET[:12] not in delivery.error


def test_sink_send_scrubs_its_exception(http: responses.RequestsMock) -> None:
    http.add_callback(responses.POST, WECOM, callback=_echo)
    conf = settings(f"{WECOM}?key={CANARY_KEY}")
    [sink] = build_sinks(conf.sinks)
    with pytest.raises(DeliveryError) as caught:
        sink.send(document(), DeliveryContext(session=requests.Session(), settings=conf))
    assert CANARY_KEY not in str(caught.value) and CANARY_KEY not in caught.value.message


def test_spec_repr_and_label_hide_the_url() -> None:
    conf = settings(f"{DINGTALK}?access_token={CANARY_TOKEN}#secret={CANARY_SECRET}")
    [sink] = build_sinks(conf.sinks)
    for text in (repr(sink), repr(sink.spec), sink.spec.label):
        assert CANARY_TOKEN not in text and CANARY_SECRET not in text
