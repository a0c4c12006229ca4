"""`config_error` (critical): the configuration or the timer Message is wrong; a retry cannot fix
it. Raised by the job itself (`rules.config_alerts`), cleared by the first run without issues."""

from __future__ import annotations

from sms_receipt_stats.rules import RuleSpec

RULE = RuleSpec(
    name="config_error",
    texts={
        "en": {"title": "configuration error", "message": "Configuration problem: {issue}"},
        "zh": {"title": "配置错误", "message": "配置错误：{issue}"},
    },
    clear_runs=1,
)
