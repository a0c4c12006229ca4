"""Shared builders of the sink tests: settings, one app's result document, a recording sleep
and a `responses` mock answering the hooks. Each test module keeps its own hook URLs and answers.

A plain module next to the tests (tests/unit has no __init__.py, so pytest puts this directory
on sys.path): `from sink_support import ...`.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, List, Mapping, Optional

import responses

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.stats import Stats, compute_rates

APP = "1400006874"
ALERT_MESSAGE = "success rate 77.02% below 90%"


def checked_settings(env: Mapping[str, str]) -> Settings:
    """`load_settings(env)`, asserting it reports no issues."""
    loaded, issues = load_settings(dict(env))
    assert issues == []
    return loaded


def hook_settings(url: str, options: str = "") -> Settings:
    """Settings with the one NOTIFY_URLS entry `url`, plus `#options` when given."""
    return checked_settings({"NOTIFY_URLS": url + (f"#{options}" if options else "")})


def app_result(app_id: str = APP, name: str = "prod", request_ids: Iterable[str] = ()) -> AppResult:
    """One app's result: 1880 sent, 1344 of 1745 receipts successful (77.02%)."""
    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                  ShutdownErrorCount=401)
    return AppResult(app_id=app_id, app_name=name, window=WindowDoc(begin="2021050113", end="2021050123",
                     timezone="Asia/Shanghai"), stats=stats, rates=compute_rates(stats),
                     request_ids=list(request_ids))


def document(kind: str = "report", *severities: str, result: Optional[AppResult] = None,
             message: str = ALERT_MESSAGE) -> ResultDocument:
    """A document of `result` (default `app_result()`) with one success-rate alert per severity.

    `message` may name `{severity}`.
    """
    alerts = [Alert(rule="success_rate_below", severity=s, app_id=APP, value=0.7702, threshold=0.9,
                    message=message.format(severity=s)) for s in severities]
    return ResultDocument(kind=kind, generated_at="2026-11-24T09:00:03+08:00",
                          results=[result if result is not None else app_result()], alerts=alerts)


class Sleeper:
    """Records waits instead of sleeping (a sink alone; with a clock, use support.FakeClock.sleep)."""

    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@contextmanager
def mocked_hooks(answers: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Iterator[responses.RequestsMock]:
    """A `responses` mock answering a POST to each URL of `answers` with its `mock.post` keywords."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url, answer in (answers or {}).items():
            mock.post(url, **answer)
        yield mock


def sent(http: responses.RequestsMock) -> List[dict]:
    """The JSON bodies posted, in order."""
    return [json.loads(call.request.body) for call in http.calls]
