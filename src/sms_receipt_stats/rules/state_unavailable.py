"""`state_unavailable` (warning): the run went on without its state store. A note about this
run only: never kept, never resolved (`rules.state_alert`)."""

from __future__ import annotations

from sms_receipt_stats.rules import RuleSpec

RULE = RuleSpec(
    name="state_unavailable",
    texts={
        "en": {"title": "state store unavailable",
               "message": "{problem}; this run went on without the state store (alerts not deduplicated, "
                          "nothing cached)"},
        "zh": {"title": "状态存储不可用", "message": "{problem}；本次运行未使用状态存储（告警未去重，未使用缓存）"},
    },
    tracked=False,
)
