"""Planning a page's API calls against the time left (`dashboard/plan.py`, pure)."""

from __future__ import annotations

from typing import Optional, Set, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.config import App
from sms_receipt_stats.dashboard.plan import RESERVE_SECONDS, RESERVE_SHARE, call_budget, calls_deadline, plan_page
from sms_receipt_stats.windows import buckets, named_window, split_for_api
from support import NOW

APPS = [App(app_id=f"14000000{i:02d}", name=f"app{i}") for i in range(20)]
WINDOW = named_window("last_30d", NOW, "Asia/Shanghai")


def test_the_budget_keeps_a_reserve_and_a_margin_under_the_rate_cap() -> None:
    assert call_budget(None, 10) is None
    assert call_budget(RESERVE_SECONDS, 10) == 0 and call_budget(1.0, 10) == 0
    assert call_budget(60.0 - 3.0 + RESERVE_SECONDS - 3.0, 10) == int(54 * 10 * 0.85)


@given(budget=st.integers(min_value=0, max_value=700), n_apps=st.integers(min_value=1, max_value=20))
def test_a_plan_never_exceeds_its_budget_and_keeps_the_newest_days(budget: int, n_apps: int) -> None:
    apps = APPS[:n_apps]
    plan = plan_page(apps, WINDOW, "day", budget)
    calls = len(plan.apps) * sum(len(split_for_api(b.counted())) for b in buckets(plan.window, "day"))
    assert calls <= budget
    assert plan.window.end == WINDOW.end  # the newest days stay
    assert list(plan.apps) + plan.left_out == apps  # nothing silently dropped
    assert plan.cut == (n_apps * 30 > budget)
    if n_apps <= budget:  # one day each fits: every app is shown
        assert plan.left_out == [] and plan.shown_buckets == min(30, budget // n_apps)


def test_no_limit_means_the_whole_page() -> None:
    plan = plan_page(APPS, WINDOW, "day", None)
    assert not plan.cut and plan.window == WINDOW and plan.calls_needed == 600


def test_cached_calls_are_free() -> None:
    settled: Set[Tuple[str, str, str]] = set()
    for app in APPS:
        for b in buckets(WINDOW, "day")[:-3]:  # all but the last three days are cached
            r = split_for_api(b.counted())[0]
            settled.add((app.app_id, r.begin_time, r.end_time))

    def cached(app_id: str, begin: str, end: str) -> Optional[object]:
        return object() if (app_id, begin, end) in settled else None

    plan = plan_page(APPS, WINDOW, "day", 60, cached)
    assert not plan.cut and plan.calls_needed == 60  # 20 apps × 3 unsettled days


@pytest.mark.parametrize("budget", [0])
def test_no_time_at_all_leaves_every_app_out_and_says_so(budget: int) -> None:
    plan = plan_page(APPS[:3], WINDOW, "day", budget)
    assert plan.apps == [] and plan.left_out == APPS[:3] and plan.cut


def test_the_calls_end_before_the_deadline_leaving_time_to_render() -> None:
    assert calls_deadline(None, 100.0) is None
    assert calls_deadline(158.5, 100.0) == 158.5 - RESERVE_SECONDS  # a long limit: the fixed reserve
    assert calls_deadline(104.0, 100.0) == 104.0 - 4.0 * RESERVE_SHARE  # a short one: a share of what is left
    assert calls_deadline(99.0, 100.0) == 99.0  # already past: nothing kept back, nothing will start
