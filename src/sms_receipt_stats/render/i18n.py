"""Fixed strings of chat messages in `en` and `zh`, plus number formatting.

Every word a renderer prints comes from here, so a zh message never falls back on an
English label and a new language is one more table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

from sms_receipt_stats.vocabulary import DEFAULT_LANG, LANGS

if TYPE_CHECKING:
    from sms_receipt_stats.rules import RuleSpec

STRINGS: Dict[str, Dict[str, str]] = {
    "en": {
        "product": "SMS receipts",
        "product_check": "SMS receipt check",
        "doctor_test": "🧪 TEST message from sms-receipt-stats doctor (not a report)",
        "doctor_test_failed": "{n} check(s) failed, listed below",
        "doctor_test_ok": "no check failed",
        "n_alerts": "{n} alerts",
        "one_alert": "1 alert",
        "no_alerts": "all healthy",
        "error_title": "error",
        "yesterday": "yesterday",
        "alerts": "Alerts",
        "errors": "Errors",
        "critical": "CRITICAL",
        "warning": "WARNING",
        "info": "INFO",
        "value_success_rate_below": "success rate {value} {lt} {threshold}",
        "value_receipt_rate_below": "receipt rate {value} {lt} {threshold}",
        "value_success_rate_drop": "success rate {value} {lt} {threshold} (its 7-day average minus {drop})",
        "value_generic": "{title}: {value} {lt} {threshold}",
        "resolved": "RESOLVED",
        "n_resolved": "{n} resolved",
        "since": "since {when}",
        "firing_since": "firing since {when}",
        "silenced": "🔕 silenced",
        "trend": "success rate vs 7-day average {baseline}: {change}",
        "points": "{value} pts",
        "hint": "hint",
        "submitted": "submitted",
        "receipts": "receipts",
        "delivered": "delivered",
        "failed": "failed",
        "failures": "failures",
        "InternalErrorCount": "internal error",
        "InvalidNumberCount": "invalid number",
        "ShutdownErrorCount": "powered off/out of service",
        "BlackListCount": "blacklisted",
        "FrequencyLimitCount": "frequency limit",
        "receipt_rate": "receipt rate",
        "success_rate": "success rate",
        "delivery_rate": "delivery rate",
        "no_data": "no data",
        "error": "error",
        "window": "window",
        "generated": "generated",
        "late_note": "Receipts can arrive late (carriers report up to days later): recent numbers may still grow.",
        "approx_note": "Approximate local times: the SMS API counts whole Beijing hours only, so {tz} hours are "
                       "counted {hours} whole hours from {begin} to {end} (Beijing time, both included).",
        "series_head": "per {unit}",
        "series_omitted": "{n} {unit} buckets not shown (see the JSON result)",
        "unit_day": "day",
        "unit_hour": "hour",
        "unit_bucket": "bucket",
        "more_apps": "… {n} more apps truncated (see the JSON result)",
        "more_alerts": "… {n} more alerts truncated (see the JSON result)",
        "more_errors": "… {n} more errors",
        "truncated": "… truncated (see the JSON result)",
        "details": "📈 Dashboard",
        "na": "n/a",
        "balance": "SMS balance",
        "balance_line": "{remaining} messages left · about {days} days at {rate} billed a day (last {n} days)",
        "balance_no_rate": "{remaining} messages left · nothing billed in the last {n} days",
        "balance_unknown_rate": "{remaining} messages left",
        "balance_none": "no SMS package found (postpaid, or bought over 3 years ago)",
        "balance_error": "unavailable",
        "send_line": "API accepted {accepted} of {submitted} submitted ({rate}) · billed {billed}",
        "value_submit_rejected": "accept rate {value} {lt} {threshold} ({n} submitted)",
        "legend": "Marks",
        "legend_ok": "✅ meets its alert threshold",
        "legend_warn": "⚠️ below the warning threshold",
        "legend_crit": "🔴 below the critical threshold",
        "legend_low": "— under {n} messages: too few to judge",
        "legend_pooled": "Σ under {n} messages here alone: its alert also counts the hours before",
        "evidence": " ({evidence})",
        "receipt_codes": "failed receipts by code",
        "codes_more": "+{n} more",
        "receipt_countries": "failures by country/region",
        "countries_more": "+{n} more",
        "group_head": "{title} on {n} apps: {apps}",
        "group_threshold": " ({threshold})",
        "group_more": "… {n} more",
        "list_separator": ", ",
    },
    "zh": {
        "product": "短信回执统计",
        "product_check": "短信回执检查",
        "doctor_test": "🧪 测试消息：来自 sms-receipt-stats doctor（不是报告）",
        "doctor_test_failed": "{n} 项检查失败，见下文",
        "doctor_test_ok": "没有检查失败",
        "n_alerts": "{n} 条告警",
        "one_alert": "1 条告警",
        "no_alerts": "全部正常",
        "error_title": "运行出错",
        "yesterday": "昨天",
        "alerts": "告警",
        "errors": "错误",
        "critical": "严重",
        "warning": "警告",
        "info": "提示",
        "value_success_rate_below": "成功率 {value} {lt} {threshold}",
        "value_receipt_rate_below": "回执率 {value} {lt} {threshold}",
        "value_success_rate_drop": "成功率 {value} {lt} {threshold}（近 7 日均值减 {drop}）",
        "value_generic": "{title}：{value} {lt} {threshold}",
        "resolved": "已恢复",
        "n_resolved": "{n} 条已恢复",
        "since": "自 {when} 起",
        "firing_since": "自 {when} 起告警",
        "silenced": "🔕 已静默",
        "trend": "成功率较近 7 日均值 {baseline}：{change}",
        "points": "{value} 个百分点",
        "hint": "处理建议",
        "submitted": "提交成功",
        "receipts": "收到回执",
        "delivered": "发送成功",
        "failed": "发送失败",
        "failures": "失败原因",
        "InternalErrorCount": "内部错误",
        "InvalidNumberCount": "号码无效",
        "ShutdownErrorCount": "关机/停机",
        "BlackListCount": "黑名单",
        "FrequencyLimitCount": "频率限制",
        "receipt_rate": "回执率",
        "success_rate": "成功率",
        "delivery_rate": "送达率",
        "no_data": "无数据",
        "error": "错误",
        "window": "统计区间",
        "generated": "生成时间",
        "late_note": "回执可能延迟到达(运营商最晚可在数天后回报),近期数据可能仍会增加。",
        "approx_note": "本地时间为近似值:短信 API 只按北京时间整点统计,{tz} 的时段按 {hours} 个整点统计,"
                       "即北京时间 {begin} 至 {end}(含首尾两个小时)。",
        "series_head": "按{unit}",
        "series_omitted": "另有 {n} 个按{unit}的分段未显示(详见 JSON 结果)",
        "unit_day": "天",
        "unit_hour": "小时",
        "unit_bucket": "分段",
        "more_apps": "… 另有 {n} 个应用未显示(详见 JSON 结果)",
        "more_alerts": "… 另有 {n} 条告警未显示(详见 JSON 结果)",
        "more_errors": "… 另有 {n} 条错误",
        "truncated": "… 内容过长已截断(详见 JSON 结果)",
        "details": "📈 看板详情",
        "na": "无数据",
        "balance": "短信余量",
        "balance_line": "剩余 {remaining} 条 · 按近 {n} 天每天计费 {rate} 条约可用 {days} 天",
        "balance_no_rate": "剩余 {remaining} 条 · 近 {n} 天无计费",
        "balance_unknown_rate": "剩余 {remaining} 条",
        "balance_none": "未找到短信套餐包（后付费，或购买已超过 3 年）",
        "balance_error": "无法获取",
        "send_line": "接口受理 {accepted} 条 / 提交 {submitted} 条（{rate}）· 计费 {billed} 条",
        "value_submit_rejected": "受理率 {value} {lt} {threshold}（提交 {n} 条）",
        "legend": "标记",
        "legend_ok": "✅ 达到告警阈值",
        "legend_warn": "⚠️ 低于警告阈值",
        "legend_crit": "🔴 低于严重阈值",
        "legend_low": "— 不足 {n} 条：样本太少，不做判断",
        "legend_pooled": "Σ 此处单独不足 {n} 条：告警合并了之前的小时一起判断",
        "evidence": "（{evidence}）",
        "receipt_codes": "失败回执码",
        "codes_more": "另有 {n} 个回执码",
        "receipt_countries": "失败回执地区",
        "countries_more": "另有 {n} 个",
        "group_head": "{title}：{n} 个应用：{apps}",
        "group_threshold": "（{threshold}）",
        "group_more": "… 另有 {n} 个",
        "list_separator": "、",
    },
}


def rule_spec(rule: str) -> Optional[RuleSpec]:
    """The rule's declaration (`rules/`): its texts are the one table of its words, for chat and page."""
    from sms_receipt_stats.rules import rule as declared

    return declared(rule)


def span_text(lang: str, hours: int) -> str:
    """`2 h`, `24 h`, `7 d`: how long a verdict's evidence spans (the rules' words)."""
    from sms_receipt_stats.rules import span_text as said

    return said(lang, hours)


def rule_title(lang: str, rule: str) -> Optional[str]:
    """The rule's short title as its module declares it (`rules/`), or None for a rule this
    version does not have (an alert kept by another version)."""
    from sms_receipt_stats.rules import rule as declared

    spec = declared(rule)
    return spec.title(lang) if spec is not None else None


def normalize_lang(lang: Optional[str]) -> str:
    """`zh`, `zh-CN`, `zh_cn` → `zh`; anything unknown → `en` (config already validated it)."""
    value = (lang or DEFAULT_LANG).strip().lower()
    return next((known for known in LANGS if value.startswith(known)), DEFAULT_LANG)


def t(lang: str, key: str, **values: object) -> str:
    text = STRINGS[lang][key]
    return text.format(**values) if values else text


def num(value: int) -> str:
    """Thousands separators; the same in en and zh (both write 1,880)."""
    return f"{value:,}"


def pct(rate: Optional[float]) -> str:
    """0.7702 → `77.02%` (rates carry 4 places, so two decimals are exact)."""
    if rate is None:
        return "—"
    return f"{rate * 100:.2f}%"


def pct_threshold(rate: float) -> str:
    """0.9 → `90%`, 0.925 → `92.5%`: thresholds read best without trailing zeros."""
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"
