"""Grouping through the real timer job and the real stores (SQLite file, the machine's Redis):
three apps failing one rule are one notice, the first to recover sends nothing, the last sends
one resolved naming all three (docs/alerts.md, *Grouping*); `ALERT_GROUP_BY=rule,app_id` keeps
every app alone. A group record read back that does not validate is dropped, never a traceback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Dict, List, Sequence

import pytest

from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.render import render_message
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.groups import COLLECTION, group_id
from sms_receipt_stats.stats import Stats
from support import APP_MARKETING, APP_PROD, APP_STAGING, APPS, NOW, FakeFetcher, base_env, read_event

pytestmark = pytest.mark.integration

#: a success rate of 52 %: `success_rate_below` fires; and a healthy hour
BAD = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=500, CallbackFailCount=450,
            InvalidNumberCount=50)
GOOD = Stats(RequestSuccessCount=1000, CallbackCount=990, CallbackSuccessCount=985, CallbackFailCount=5,
             InvalidNumberCount=5)
RULE = "success_rate_below"


@pytest.fixture()
def check(invoke: Callable[..., Dict[str, Any]], make_deps: Callable[..., Any],
          state_env: Dict[str, str]) -> Callable[..., Dict[str, Any]]:
    """`check(hour, failing, **env)`: the hourly check `hour` hours after NOW, `failing` apps at 52 %."""
    def run(hour: int, failing: Sequence[str], **env: str) -> Dict[str, Any]:
        fetcher = FakeFetcher()
        fetcher.stats_for.update({a: BAD if a in failing else GOOD for a in APPS})
        deps = make_deps(now=NOW + timedelta(hours=hour, minutes=5), fetcher=fetcher)
        doc = invoke(read_event("timer_check_last_hour"), env=base_env(**state_env, **env), deps=deps)
        assert not doc["errors"], doc["errors"]
        return doc

    return run


def notices(doc: Dict[str, Any], status: str) -> List[Dict[str, Any]]:
    return [a for a in doc["alerts"] if a["rule"] == RULE and a["status"] == status and a["notified"]]


def test_a_group_fires_as_one_and_resolves_as_one(check: Callable[..., Dict[str, Any]],
                                                  state_env: Dict[str, str]) -> None:
    first = check(0, APPS)
    assert [(a["app_id"], a["group"]) for a in notices(first, "firing")] == [(a, RULE) for a in APPS]
    text = render_message(ResultDocument.model_validate(first), "plain", min_severity="warning")
    assert text is not None
    assert [line for line in text.text.splitlines() if "on 3 apps:" in line]  # one entry naming the three

    check(1, [APP_STAGING, APP_MARKETING])
    quiet = check(2, [APP_STAGING, APP_MARKETING])  # prod recovered: two clear runs
    [resolved] = [a for a in quiet["alerts"] if a["status"] == "resolved"]
    assert (resolved["app_id"], resolved["notified"]) == (APP_PROD, False) and "group" not in resolved
    assert not notices(quiet, "firing")

    check(3, [])
    last = check(4, [])
    assert sorted(a["app_id"] for a in notices(last, "resolved")) == sorted(APPS)
    assert {a["group"] for a in notices(last, "resolved")} == {RULE}
    store = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    try:
        assert store.items(COLLECTION) == {}  # the group is closed: nothing left behind
    finally:
        store.close()


def test_rule_and_app_id_resolve_each_app_alone(check: Callable[..., Dict[str, Any]]) -> None:
    first = check(0, APPS, ALERT_GROUP_BY="rule,app_id")
    assert [a["group"] for a in notices(first, "firing")] == [f"{RULE}/{a}" for a in APPS]
    check(1, [APP_STAGING, APP_MARKETING], ALERT_GROUP_BY="rule,app_id")
    alone = check(2, [APP_STAGING, APP_MARKETING], ALERT_GROUP_BY="rule,app_id")
    assert [(a["app_id"], a["group"]) for a in notices(alone, "resolved")] == [(APP_PROD, f"{RULE}/{APP_PROD}")]


@pytest.mark.parametrize("stored", ['{"key": "success_rate_below", "members": [{"fingerprint": "x"}]}',
                                    '{"key": "another key", "members": []}', "not json", '{"key": 5}'])
def test_an_unreadable_group_record_is_dropped_and_the_run_goes_on(check: Callable[..., Dict[str, Any]],
                                                                   state_env: Dict[str, str], stored: str) -> None:
    check(0, APPS)
    store = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    try:
        gid = group_id(RULE)
        assert store.replace(COLLECTION, gid, store.get_item(COLLECTION, gid), stored, 3600)
        check(1, [APP_STAGING])
        after = check(2, [APP_STAGING])
        assert (after["kind"], after["errors"]) == ("check", [])
        # the membership is lost: the recovered apps resolve on their own, as without grouping
        assert sorted(a["app_id"] for a in notices(after, "resolved")) == sorted([APP_PROD, APP_MARKETING])
        assert store.get_item(COLLECTION, gid) is None
    finally:
        store.close()
