"""Alert rules (README, *Timer jobs* and *State*), pure: results and thresholds in, alerts out."""

from __future__ import annotations

from typing import Iterable, List, Optional

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import Alert, AppResult

_TEXT = {
    "en": {
        "success": "{app}: success rate {value:.2%} is below {threshold:.0%} ({n} receipts)",
        "receipt": "{app}: receipt rate {value:.2%} is below {threshold:.0%} ({n} submitted)",
        "drop": "{app}: success rate {value:.2%} is {points:.1f} points below its 7-day average {baseline:.2%}",
        "state": "{problem}; this run went on without the state store (alerts not deduplicated, nothing cached)",
        "api": "{app}: the statistics query failed with {code}",
        "config": "Configuration problem: {issue}",
    },
    "zh": {
        "success": "{app}：回执成功率 {value:.2%} 低于 {threshold:.0%}（回执 {n} 条）",
        "receipt": "{app}：回执率 {value:.2%} 低于 {threshold:.0%}（提交成功 {n} 条）",
        "drop": "{app}：回执成功率 {value:.2%} 比近 7 日均值 {baseline:.2%} 低 {points:.1f} 个百分点",
        "state": "{problem}；本次运行未使用状态存储（告警未去重，未使用缓存）",
        "api": "{app}：统计查询失败，错误码 {code}",
        "config": "配置错误：{issue}",
    },
}


def app_label(result: AppResult) -> str:
    return f"{result.app_name} ({result.app_id})" if result.app_name else result.app_id


def evaluate_app(result: AppResult, thresholds: Thresholds, lang: str = "en") -> List[Alert]:
    text = _TEXT.get(lang, _TEXT["en"])
    label = app_label(result)
    if result.error is not None:
        err = result.error
        return [
            Alert(rule="api_error", severity=err.severity, app_id=result.app_id, value=err.code,
                  message=text["api"].format(app=label, code=err.code), code=err.code, hint=err.hint)
        ]
    if result.stats is None or result.rates is None:
        return []
    alerts: List[Alert] = []
    stats, rates = result.stats, result.rates
    success: Optional[float] = rates.success_rate
    if success is not None and stats.CallbackCount >= thresholds.min_volume:
        threshold = None
        severity = "warning"
        if success < thresholds.success_rate_critical:
            threshold, severity = thresholds.success_rate_critical, "critical"
        elif success < thresholds.success_rate_min:
            threshold = thresholds.success_rate_min
        if threshold is not None:
            alerts.append(Alert(rule="success_rate_below", severity=severity, app_id=result.app_id,
                                value=success, threshold=threshold,
                                message=text["success"].format(app=label, value=success, threshold=threshold,
                                                               n=stats.CallbackCount)))
    receipt = rates.receipt_rate
    if (receipt is not None and stats.RequestSuccessCount >= thresholds.min_volume
            and receipt < thresholds.receipt_rate_min):
        alerts.append(Alert(rule="receipt_rate_below", severity="warning", app_id=result.app_id,
                            value=receipt, threshold=thresholds.receipt_rate_min,
                            message=text["receipt"].format(app=label, value=receipt,
                                                           threshold=thresholds.receipt_rate_min,
                                                           n=stats.RequestSuccessCount)))
    drop = _drop_alert(result, thresholds, text, label)
    if drop is not None:
        alerts.append(drop)
    return alerts


def _drop_alert(result: AppResult, thresholds: Thresholds, text: dict, label: str) -> Optional[Alert]:
    """`success_rate_drop`: the rate is ALERT_DROP_POINTS or more below the app's 7-day baseline."""
    trend, stats, rates = result.trend, result.stats, result.rates
    if trend is None or stats is None or rates is None or stats.CallbackCount < thresholds.min_volume:
        return None
    current, baseline = rates.success_rate, trend.baseline_success_rate
    if current is None or baseline is None:
        return None
    drop = round(baseline - current, 4)  # rates carry 4 places: compare on that grid, not in binary noise
    if drop < round(thresholds.drop_points, 4) or drop <= 0:
        return None
    return Alert(rule="success_rate_drop", severity="warning", app_id=result.app_id, value=current,
                 threshold=round(baseline - thresholds.drop_points, 4),
                 message=text["drop"].format(app=label, value=current, baseline=baseline, points=drop * 100))


def evaluate(results: Iterable[AppResult], thresholds: Thresholds, lang: str = "en") -> List[Alert]:
    alerts: List[Alert] = []
    for result in results:
        alerts.extend(evaluate_app(result, thresholds, lang))
    return alerts


def state_alert(problem: str, lang: str = "en") -> Alert:
    """`state_unavailable`: the run went on stateless; says so once, as a warning."""
    text = _TEXT.get(lang, _TEXT["en"])
    return Alert(rule="state_unavailable", severity="warning", message=text["state"].format(problem=problem))


def config_alerts(issues: Iterable[str], lang: str = "en") -> List[Alert]:
    text = _TEXT.get(lang, _TEXT["en"])
    return [Alert(rule="config_error", severity="critical", message=text["config"].format(issue=issue),
                  code="ConfigError") for issue in issues]
