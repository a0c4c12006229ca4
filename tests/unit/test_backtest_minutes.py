"""The minute rule's backtest (`dev/backtest/minutes.py`): receipts pushed minute by minute through
the real callback on a simulated clock, scored like the hourly replay."""

from __future__ import annotations

import logging
import random

from sms_receipt_stats.dev.backtest.minutes import LATENCY, incident_spans, latency_minutes, simulate
from sms_receipt_stats.dev.backtest.scenario import DEFAULT_START, AppSpec, Incident, at, build
from sms_receipt_stats.dev.backtest.score import score

APP = AppSpec(app_id="1400000001", name="otp", peak=3000, success_rate=0.97, receipt_rate=0.98)


def test_latencies_follow_the_curve() -> None:
    rng = random.Random(1)
    drawn = sorted(latency_minutes(rng, LATENCY) for _ in range(4000))
    assert drawn[0] >= 0 and drawn[-1] <= 2880
    assert 0.70 < sum(d < 1 for d in drawn) / len(drawn) < 0.80  # 75 % within a minute
    assert 0.93 < sum(d < 60 for d in drawn) / len(drawn) < 0.97  # 95 % within an hour


def test_an_outage_pushed_minute_by_minute_is_notified_within_minutes_and_resolved_once(tmp_path) -> None:
    onset = at(DEFAULT_START, 1, 10, 20)
    outage = Incident(id="I01", kind="outage", app_ids=(APP.app_id,), onset=onset, end=onset + 40 * 60, rate=0.4)
    scenario = build([APP], [outage], days=2, seed=5)
    spans = incident_spans(scenario, before=20 * 60, after=100 * 60)
    assert spans == [(onset - 20 * 60, onset + 140 * 60)]
    logging.disable(logging.CRITICAL)
    try:
        found = simulate(scenario, spans=spans, store_dir=str(tmp_path))
    finally:
        logging.disable(logging.NOTSET)
    assert found.answers_not_ok == 0 and found.receipts > 3000
    firing = [n for n in found.notices if n.status == "firing"]
    assert firing and all(n.rule == "delivery_failures" and n.app_id == APP.app_id for n in found.notices)
    assert onset < firing[0].at <= onset + 15 * 60  # within minutes, not the next hourly check
    card = score("minute rule", found.notices, found.runs, [outage], {"I01": True})
    assert card.detected == 1 and card.false_firing == 0 and card.flaps == 0
    assert [n.status for n in found.notices].count("resolved") == 1
