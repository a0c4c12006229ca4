"""The dashboard page: one self-contained HTML document, built as text (pure).

Self-contained means: one `<style>` block (allowed by its hash in the Content-Security-Policy),
inline SVG charts, no script, no font, image or stylesheet from anywhere. Every string that
comes from outside (app names, upstream messages, alert and silence fields) is escaped with
`esc`. The layout is one column on a phone and a grid on a desktop.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.dashboard.svg import Series, esc, line_chart, stacked_bars
from sms_receipt_stats.documents import AppResult, WindowDoc
from sms_receipt_stats.render.i18n import num, pct, pct_threshold
from sms_receipt_stats.render.i18n import t as chat_t
from sms_receipt_stats.stats import FAILURE_FIELDS, Rates, Stats, compute_rates

#: untrusted strings are cut before escaping, so one huge value cannot swamp the page
TEXT_MAX = 300

STRINGS: Dict[str, Dict[str, str]] = {
    "en": {
        "title": "SMS receipts",
        "n_apps": "{n} apps",
        "one_app": "1 app",
        "generated": "generated",
        "window": "window",
        "overview": "Overview",
        "app": "app",
        "rates_day": "Rates per day",
        "rates_hour": "Rates per hour",
        "failures_day": "Failure reasons per day",
        "failures_hour": "Failure reasons per hour",
        "numbers_day": "Numbers per day",
        "numbers_hour": "Numbers per hour",
        "date": "date",
        "hour": "hour",
        "no_data": "no traffic in this window",
        "no_failures": "no failed receipts",
        "alerts": "Current alerts",
        "silences": "Silences",
        "no_alerts": "No alert is firing for these apps.",
        "no_silences": "No active silence.",
        "no_state": "No state store is configured (STATE_URL): alerts are not tracked between runs and "
                    "silences are not kept.",
        "state_error": "The state store could not be read just now: alerts and silences are not shown.",
        "since": "since {when}",
        "until": "until {when}",
        "by": "by {who}",
        "silenced": "silenced",
        "all": "all",
        "threshold": "{what} threshold {value}",
        "status_ok": "ok",
        "status_warn": "below the warning threshold",
        "status_crit": "below the critical threshold",
        "status_none": "too little traffic to judge",
        "switch": "中文",
        "hint": "hint",
    },
    "zh": {
        "title": "短信回执统计",
        "n_apps": "{n} 个应用",
        "one_app": "1 个应用",
        "generated": "生成时间",
        "window": "统计区间",
        "overview": "总览",
        "app": "应用",
        "rates_day": "每日比率",
        "rates_hour": "每小时比率",
        "failures_day": "每日失败原因",
        "failures_hour": "每小时失败原因",
        "numbers_day": "每日明细",
        "numbers_hour": "每小时明细",
        "date": "日期",
        "hour": "时间",
        "no_data": "此区间内没有发送",
        "no_failures": "没有失败回执",
        "alerts": "当前告警",
        "silences": "静默规则",
        "no_alerts": "这些应用当前没有告警。",
        "no_silences": "没有生效的静默规则。",
        "no_state": "未配置状态存储(STATE_URL):不跟踪告警状态,也不保存静默规则。",
        "state_error": "暂时无法读取状态存储:未显示告警和静默规则。",
        "since": "自 {when} 起",
        "until": "至 {when}",
        "by": "创建人 {who}",
        "silenced": "已静默",
        "all": "全部",
        "threshold": "{what}阈值 {value}",
        "status_ok": "正常",
        "status_warn": "低于告警阈值",
        "status_crit": "低于严重阈值",
        "status_none": "发送量太少,不作判断",
        "switch": "English",
        "hint": "处理建议",
    },
}

RATE_KEYS = ("success_rate", "receipt_rate", "delivery_rate")
#: line colours by CSS class; the bar layers are f0..f4 in FAILURE_FIELDS order
STYLE = """
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--muted:#5d6575;--line:#e3e6eb;
--ok:#1a7f4b;--warn:#b25e00;--crit:#c62828;--none:#7a8190;
--success:#009e73;--receipt:#0072b2;--delivery:#cc79a7;
--f0:#d55e00;--f1:#e69f00;--f2:#56b4e9;--f3:#5d6575;--f4:#999933}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b2029;--ink:#e7e9ee;--muted:#a0a7b4;
--line:#2d3440;--ok:#4cc38a;--warn:#f0a54a;--crit:#ff6b6b;--f3:#a0a7b4}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
main{max-width:1240px;margin:0 auto;padding:16px}
header.top{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;justify-content:space-between;
margin:4px 0 12px}
h1{font-size:22px;margin:0}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:14px;margin:0 0 4px;color:var(--muted);font-weight:600}
.meta{color:var(--muted);font-size:13px}
a{color:var(--receipt)}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px;margin:0 0 14px}
.app-head{display:flex;flex-wrap:wrap;gap:2px 10px;align-items:baseline}
.app-id{color:var(--muted);font-size:13px;font-variant-numeric:tabular-nums}
.tiles{display:grid;grid-template-columns:3fr 4fr;gap:8px;margin:10px 0 12px}
.tiles .rates,.tiles .counts{display:grid;gap:8px}
.tiles .rates{grid-template-columns:repeat(3,1fr)}.tiles .counts{grid-template-columns:repeat(4,1fr)}
.tile{border:1px solid var(--line);border-radius:8px;padding:6px 10px;min-width:0}
.tile .k{color:var(--muted);font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tile .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.counts .v{font-size:17px}
.tile.ok .v{color:var(--ok)}.tile.warn .v{color:var(--warn)}.tile.crit .v{color:var(--crit)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px 20px}
figure{margin:0;min-width:0}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart text{fill:var(--muted);font-size:12px}
svg.chart .ylab{text-anchor:end;dominant-baseline:middle}
svg.chart .xlab{text-anchor:middle}
svg.chart .empty{text-anchor:middle;font-size:14px}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .threshold{stroke:var(--warn);stroke-width:1.2;stroke-dasharray:5 4}
svg.chart .line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.s-success{stroke:var(--success);fill:var(--success)}
.s-receipt{stroke:var(--receipt);fill:var(--receipt)}
.s-delivery{stroke:var(--delivery);fill:var(--delivery)}
.f0{fill:var(--f0);background:var(--f0)}.f1{fill:var(--f1);background:var(--f1)}
.f2{fill:var(--f2);background:var(--f2)}.f3{fill:var(--f3);background:var(--f3)}
.f4{fill:var(--f4);background:var(--f4)}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;margin:4px 0 0;padding:0;list-style:none;font-size:12px;
color:var(--muted)}
.legend li{display:flex;align-items:center;gap:5px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px}
.sw.s-success{background:var(--success)}.sw.s-receipt{background:var(--receipt)}
.sw.s-delivery{background:var(--delivery)}
.sw.th{height:0;border-top:2px dashed var(--warn);border-radius:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:600;white-space:normal;vertical-align:bottom}
td.ok{color:var(--ok)}td.warn{color:var(--warn)}td.crit{color:var(--crit)}
details{margin-top:10px}
summary{cursor:pointer;color:var(--muted);font-size:13px}
ul.items{list-style:none;margin:0;padding:0}
ul.items li{padding:6px 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
ul.items li:last-child{border-bottom:0}
.sev{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:4px;
padding:1px 6px;margin-right:6px;color:#fff;background:var(--none)}
.sev.critical{background:var(--crit)}.sev.warning{background:var(--warn)}.sev.info{background:var(--receipt)}
.note{color:var(--muted);font-size:13px;margin:0}
p.state{margin:-4px 0 12px}
.error{color:var(--crit);overflow-wrap:anywhere}
footer{color:var(--muted);font-size:12px;margin:8px 0 24px}
@media (max-width:900px){.tiles{grid-template-columns:1fr}}
@media (max-width:640px){main{padding:10px}h1{font-size:19px}section.card{padding:10px}
.tile{padding:5px 7px}.tile .v{font-size:18px}.counts .v{font-size:14px}.tile .k{font-size:11px}
svg.chart text{font-size:19px}svg.chart .empty{font-size:20px}
.charts{grid-template-columns:1fr}.wide{display:none}}
"""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
#: no script, no frame, no form, no base; only the page's own style block and data: images
CSP = (f"default-src 'none'; style-src '{STYLE_HASH}'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
#: the same policy inside the page, for a saved copy opened from disk (frame-ancestors is header-only)
CSP_META = CSP.replace("; frame-ancestors 'none'", "")


def text(lang: str, key: str, **values: object) -> str:
    table = STRINGS[lang]
    raw = table[key] if key in table else chat_t(lang, key)
    return raw.format(**values) if values else raw


def _cut(value: Any, limit: int = TEXT_MAX) -> str:
    shown = "" if value is None else str(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class StateView:
    """What the state store says now: alerts as in the result document, silences as stored.
    `error` is set when the store could not be read (then both lists are empty)."""

    alerts: Sequence[Mapping[str, Any]] = ()
    silences: Sequence[Mapping[str, Any]] = ()
    error: bool = False


@dataclass(frozen=True)
class Page:
    results: Sequence[AppResult]
    window: WindowDoc
    granularity: str  # "day" or "hour"
    generated_at: datetime
    lang: str = "en"
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: None: no state store is configured
    state: Optional[StateView] = None
    #: href of the same page in the other language (only where it keeps working without a token)
    switch_href: Optional[str] = None


# -- formatting ------------------------------------------------------------------------------------------

def _hour(value: str) -> Optional[datetime]:
    try:
        return datetime.strptime(value, "%Y%m%d%H")
    except (TypeError, ValueError):
        return None


def window_text(window: WindowDoc) -> str:
    begin, end = _hour(window.begin), _hour(window.end)
    if begin is None or end is None:
        return f"{_cut(window.begin, 20)} → {_cut(window.end, 20)} ({_cut(window.timezone, 64)})"
    if begin.hour == 0 and end.hour == 0:
        last = end - timedelta(days=1)
        shown = begin.strftime("%Y-%m-%d") if last == begin else f"{begin:%Y-%m-%d} → {last:%Y-%m-%d}"
    else:
        shown = f"{begin:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M}"
    return f"{shown} ({_cut(window.timezone, 64)})"


def bucket_label(begin: str, granularity: str) -> str:
    moment = _hour(begin)
    if moment is None:
        return _cut(begin, 12)
    return moment.strftime("%H:%M") if granularity == "hour" else moment.strftime("%m-%d")


def _when(value: Any) -> str:
    """An ISO timestamp as `2026-11-25 09:00`; anything else shown as given (escaped later)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return _cut(value, 40)


def rate_status(key: str, value: Optional[float], stats: Stats, th: Thresholds) -> str:
    """ok / warn / crit / none, by the same thresholds as the alert rules and the chat report."""
    if value is None:
        return "none"
    if key == "success_rate":
        if stats.CallbackCount < th.min_volume:
            return "none"
        if value < th.success_rate_critical:
            return "crit"
        return "warn" if value < th.success_rate_min else "ok"
    if key == "receipt_rate":
        if stats.RequestSuccessCount < th.min_volume:
            return "none"
        return "warn" if value < th.receipt_rate_min else "ok"
    return "none"  # no rule watches delivery_rate


# -- blocks ----------------------------------------------------------------------------------------------

class _Builder:
    def __init__(self, page: Page):
        self.page = page
        self.lang = page.lang

    def tr(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def app_name(self, result: AppResult) -> str:
        return _cut(result.app_name or result.app_id, 64)

    # overview -----------------------------------------------------------------------------------------
    def overview(self) -> str:
        rows = []
        for r in self.page.results:
            name = f'<a href="#app-{esc(r.app_id)}">{esc(self.app_name(r))}</a>'
            if r.error is not None or r.stats is None:
                code = r.error.code if r.error is not None else self.tr("no_data")
                rows.append(f'<tr><td>{name}</td><td class="crit" colspan="5">{esc(_cut(code, 100))}</td></tr>')
                continue
            s, rates = r.stats, r.rates or compute_rates(r.stats)
            cells = [f"<td>{num(s.RequestSuccessCount)}</td>"]
            for key in RATE_KEYS:
                status = rate_status(key, getattr(rates, key), s, self.page.thresholds)
                wide = " wide" if key == "delivery_rate" else ""
                cells.append(f'<td class="{status}{wide}">{pct(getattr(rates, key))}</td>')
            cells.append(f'<td class="wide">{num(s.CallbackFailCount)}</td>')
            rows.append(f"<tr><td>{name}</td>{''.join(cells)}</tr>")
        wide = ' class="wide"'
        head = "".join(f"<th{cls}>{esc(self.tr(key))}</th>" for key, cls in (
            ("app", ""), ("submitted", ""), ("success_rate", ""), ("receipt_rate", ""),
            ("delivery_rate", wide), ("failed", wide)))
        return (f'<section class="card" aria-labelledby="overview"><h2 id="overview">{esc(self.tr("overview"))}</h2>'
                f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
                "</table></div></section>")

    # state ------------------------------------------------------------------------------------------------
    def state(self) -> str:
        view = self.page.state
        title = f'<section class="card" aria-labelledby="alerts"><h2 id="alerts">{esc(self.tr("alerts"))}</h2>'
        if view is None:  # a line, not a card: on a phone the charts should come first
            return f'<p class="note state">{esc(self.tr("no_state"))}</p>'
        if view.error:
            return f'{title}<p class="note error">{esc(self.tr("state_error"))}</p></section>'
        wanted = {r.app_id for r in self.page.results}
        names = {r.app_id: self.app_name(r) for r in self.page.results}
        alerts = [a for a in view.alerts if isinstance(a, Mapping) and a.get("app_id") in wanted]
        items = [self.alert(a, names) for a in alerts]
        body = (f'<ul class="items">{"".join(items)}</ul>' if items
                else f'<p class="note">{esc(self.tr("no_alerts"))}</p>')
        silences = [s for s in view.silences if isinstance(s, Mapping) and self.silence_applies(s, wanted)]
        sil_items = [self.silence(s) for s in silences]
        sil_body = (f'<ul class="items">{"".join(sil_items)}</ul>' if sil_items
                    else f'<p class="note">{esc(self.tr("no_silences"))}</p>')
        return (f'{title}{body}'
                f'<h2 id="silences" class="sub">{esc(self.tr("silences"))}</h2>{sil_body}</section>')

    def alert(self, alert: Mapping[str, Any], names: Mapping[str, str]) -> str:
        severity = str(alert.get("severity") or "")
        level = severity if severity in ("critical", "warning", "info") else "other"
        badge = f'<span class="sev {level}">{esc(self.tr(level) if level != "other" else _cut(severity, 20))}</span>'
        app_id = str(alert.get("app_id"))
        who = f"<strong>{esc(names.get(app_id, app_id))}</strong>"
        parts = [f"{badge}{who} · {esc(_cut(alert.get('message') or alert.get('rule')))}"]
        extra = []
        if alert.get("since"):
            extra.append(self.tr("since", when=_when(alert["since"])))
        if alert.get("silenced") is True:
            extra.append(self.tr("silenced"))
        if extra:
            parts.append(f' <span class="meta">({esc(" · ".join(extra))})</span>')
        return f"<li>{''.join(parts)}</li>"

    @staticmethod
    def silence_applies(silence: Mapping[str, Any], apps: set) -> bool:
        matchers = silence.get("matchers")
        if not isinstance(matchers, Mapping):
            return False
        app_id = matchers.get("app_id")
        return app_id in (None, "") or app_id in apps

    def silence(self, silence: Mapping[str, Any]) -> str:
        raw = silence.get("matchers")
        matchers: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        shown = ", ".join(f"{_cut(k, 20)}={_cut(v, 64)}" for k, v in sorted(matchers.items()) if v not in (None, ""))
        line = f"<strong>{esc(shown or self.tr('all'))}</strong>"
        extra = []
        if silence.get("ends_at"):
            extra.append(self.tr("until", when=_when(silence["ends_at"])))
        if silence.get("created_by"):
            extra.append(self.tr("by", who=_cut(silence["created_by"], 64)))
        if extra:
            line += f' <span class="meta">({esc(" · ".join(extra))})</span>'
        if silence.get("comment"):
            line += f"<br>{esc(_cut(silence['comment']))}"
        return f"<li>{line}</li>"

    # one app ----------------------------------------------------------------------------------------------
    def app(self, result: AppResult) -> str:
        ident = esc(result.app_id)
        head = (f'<div class="app-head"><h2>{esc(self.app_name(result))}</h2>'
                f'<span class="app-id">{ident}</span></div>')
        if result.error is not None:
            err = result.error
            body = (f'<p class="error"><strong>{esc(_cut(err.code, 100))}</strong>: {esc(_cut(err.message))}</p>'
                    + (f'<p class="note">{esc(self.tr("hint"))}: {esc(_cut(err.hint, 400))}</p>' if err.hint else ""))
            return f'<section class="card" id="app-{ident}">{head}{body}</section>'
        stats = result.stats or Stats()
        rates = result.rates or compute_rates(stats)
        return (f'<section class="card" id="app-{ident}">{head}{self.tiles(stats, rates)}'
                f'<div class="charts">{self.rate_chart(result)}{self.failure_chart(result)}</div>'
                f"{self.table(result)}</section>")

    def tiles(self, s: Stats, rates: Rates) -> str:
        big = []
        for key in RATE_KEYS:
            value = getattr(rates, key)
            status = rate_status(key, value, s, self.page.thresholds)
            label = self.tr(f"status_{status}") if key != "delivery_rate" else ""
            title = f' title="{esc(label)}"' if label else ""
            big.append(f'<div class="tile {status}"{title}><div class="k">{esc(self.tr(key))}</div>'
                       f'<div class="v">{pct(value)}</div></div>')
        small = [f'<div class="tile"><div class="k">{esc(self.tr(key))}</div><div class="v">{num(value)}</div></div>'
                 for key, value in (("submitted", s.RequestSuccessCount), ("receipts", s.CallbackCount),
                                    ("delivered", s.CallbackSuccessCount), ("failed", s.CallbackFailCount))]
        return (f'<div class="tiles"><div class="rates">{"".join(big)}</div>'
                f'<div class="counts">{"".join(small)}</div></div>')

    def labels(self, result: AppResult) -> List[str]:
        return [bucket_label(p.begin, self.page.granularity) for p in result.series or []]

    def rate_chart(self, result: AppResult) -> str:
        points = result.series or []
        per = "hour" if self.page.granularity == "hour" else "day"
        series = [Series(key.split("_")[0], self.tr(key), [getattr(p.rates, key) for p in points]) for key in RATE_KEYS]
        th = self.page.thresholds
        warn = self.tr("threshold", what=self.tr("success_rate"), value=pct_threshold(th.success_rate_min))
        thresholds: List[Tuple[float, str]] = [(th.success_rate_min, warn)]
        svg = line_chart(self.labels(result), series, title=f"{self.tr(f'rates_{per}')} · {self.app_name(result)}",
                         ident=f"rates-{result.app_id}", no_data=self.tr("no_data"), value_text=pct,
                         thresholds=thresholds)
        legend = "".join(f'<li><span class="sw s-{esc(s.key)}"></span>{esc(s.label)}</li>' for s in series)
        legend += f'<li><span class="sw th"></span>{esc(thresholds[0][1])}</li>'
        return (f'<figure><h3>{esc(self.tr(f"rates_{per}"))}</h3>{svg}'
                f'<ul class="legend">{legend}</ul></figure>')

    def failure_chart(self, result: AppResult) -> str:
        points = result.series or []
        per = "hour" if self.page.granularity == "hour" else "day"
        layers = [Series(f"f{i}", self.tr(name), [getattr(p.stats, name) for p in points])
                  for i, name in enumerate(FAILURE_FIELDS)]
        svg = stacked_bars(self.labels(result), layers,
                           title=f"{self.tr(f'failures_{per}')} · {self.app_name(result)}",
                           ident=f"failures-{result.app_id}", no_data=self.tr("no_failures"),
                           value_text=lambda v: num(int(v)))
        stats = result.stats or Stats()
        legend = "".join(f'<li><span class="sw f{i}"></span>{esc(self.tr(name))} {num(getattr(stats, name))}</li>'
                         for i, name in enumerate(FAILURE_FIELDS))
        return (f'<figure><h3>{esc(self.tr(f"failures_{per}"))}</h3>{svg}'
                f'<ul class="legend">{legend}</ul></figure>')

    def table(self, result: AppResult) -> str:
        if not result.series:
            return ""
        per = "hour" if self.page.granularity == "hour" else "day"
        first = self.tr("hour" if per == "hour" else "date")
        head = "".join(f"<th>{esc(h)}</th>" for h in (
            first, self.tr("submitted"), self.tr("receipts"), self.tr("delivered"), self.tr("failed"),
            self.tr("success_rate"), self.tr("receipt_rate")))
        rows = []
        for p in result.series:
            moment = _hour(p.begin)
            label = (moment.strftime("%m-%d %H:%M" if per == "hour" else "%Y-%m-%d") if moment
                     else _cut(p.begin, 12))
            s = p.stats
            rows.append(f"<tr><td>{esc(label)}</td><td>{num(s.RequestSuccessCount)}</td><td>{num(s.CallbackCount)}</td>"
                        f"<td>{num(s.CallbackSuccessCount)}</td><td>{num(s.CallbackFailCount)}</td>"
                        f"<td>{pct(p.rates.success_rate)}</td><td>{pct(p.rates.receipt_rate)}</td></tr>")
        return (f'<details><summary>{esc(self.tr(f"numbers_{per}"))}</summary><div class="scroll"><table>'
                f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div></details>')

    # the page -----------------------------------------------------------------------------------------------
    def build(self) -> str:
        page = self.page
        n = len(page.results)
        generated = page.generated_at.strftime("%Y-%m-%d %H:%M:%S %z")
        switch = (f'<a href="{esc(page.switch_href)}" lang="{"en" if self.lang == "zh" else "zh"}">'
                  f'{esc(self.tr("switch"))}</a>') if page.switch_href else ""
        header = (f'<header class="top"><h1>{esc(self.tr("title"))}</h1>{switch}</header>'
                  f'<p class="meta">{esc(self.tr("window"))}: {esc(window_text(page.window))} · '
                  f'{esc(self.tr("one_app") if n == 1 else self.tr("n_apps", n=n))} · '
                  f'{esc(self.tr("generated"))}: {esc(generated)}</p>')
        blocks = [header]
        if n > 1:
            blocks.append(self.overview())
        blocks.append(self.state())
        blocks.extend(self.app(r) for r in page.results)
        blocks.append(f"<footer>{esc(self.tr('late_note'))}</footer>")
        html_lang = "zh-CN" if self.lang == "zh" else "en"
        return ("<!DOCTYPE html>"
                f'<html lang="{html_lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP_META)}">'
                '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
                '<link rel="icon" href="data:,">'
                f"<title>{esc(self.tr('title'))} · {esc(window_text(page.window))}</title>"
                f"<style>{STYLE}</style></head><body><main>{''.join(blocks)}</main></body></html>")


def render_page(page: Page) -> str:
    """The whole HTML document."""
    return _Builder(page).build()
