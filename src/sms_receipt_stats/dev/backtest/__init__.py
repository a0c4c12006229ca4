"""Alert backtests: replay synthetic quarters (or the account's own recent data) through the
product's timer jobs and score the alert notices they send (bench/README.md, "Alert quality").

`scenario` builds the data and answers the product's fetcher protocol from it, `replay` drives
`jobs.run_timer_job` over the schedule, `naive` is the Prometheus-like policy to compare with,
`score` the scorecard, `command` the `sms-receipt-stats backtest` subcommand (progress, the
thresholds in effect, `--set` comparisons), `fast` what keeps a quarter's replay near 30 s.
"""

from sms_receipt_stats.dev.backtest.naive import naive_replay
from sms_receipt_stats.dev.backtest.replay import DEFAULT_SCHEDULE, Notice, ReplayResult, RunRecord, Scheduled, replay
from sms_receipt_stats.dev.backtest.scenario import SCENARIOS, Incident, Scenario, ScenarioSource, build, builtin
from sms_receipt_stats.dev.backtest.score import Scorecard, score

__all__ = ["DEFAULT_SCHEDULE", "SCENARIOS", "Incident", "Notice", "ReplayResult", "RunRecord", "Scenario",
           "ScenarioSource", "Scheduled", "Scorecard", "build", "builtin", "naive_replay", "replay", "score"]
