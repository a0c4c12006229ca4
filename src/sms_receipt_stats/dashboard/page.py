"""The dashboard page: one self-contained HTML document, built as text (pure).

Self-contained means: one `<style>` block (allowed by its hash in the Content-Security-Policy),
inline SVG charts, no script, no font, image or stylesheet from anywhere. Every string that
comes from outside (app names, upstream messages, alert and silence fields) is escaped with
`esc`. The layout is one column on a phone and a grid on a desktop.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.dashboard.svg import Series, Threshold, esc, line_chart, rate_floor, stacked_bars
from sms_receipt_stats.documents import AppResult, PackagesDoc, WindowDoc
from sms_receipt_stats.notify.markup import Markup, clean
from sms_receipt_stats.render.i18n import num, pct, pct_threshold
from sms_receipt_stats.render.i18n import t as chat_t
from sms_receipt_stats.stats import FAILURE_FIELDS, Rates, Stats, compute_rates
from sms_receipt_stats.text import shorten
from sms_receipt_stats.vocabulary import SEVERITY_RANK
from sms_receipt_stats.windows import hour_label

#: untrusted strings are cut before escaping, so one huge value cannot swamp the page
TEXT_MAX = 300
#: the codes chart stacks this many codes (most failed first) and "other codes"; the country
#: table lists this many countries (most failed first) and counts the rest
CODE_LAYERS = 4
COUNTRY_ROWS = 8
MEANING_MAX = 80

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
        "silenced_until": "silenced until {when}",
        "all": "all",
        "all_apps": "all apps",
        "threshold": "{what} threshold {value}",
        "status_ok": "ok",
        "status_warn": "below the warning threshold",
        "status_crit": "below the critical threshold",
        "status_none": "too little traffic to judge",
        "switch": "中文",
        "hint": "hint",
        "status": "Status",
        "st_ok": "ok",
        "st_warn": "warning",
        "st_crit": "critical",
        "st_none": "little traffic",
        "st_error": "error",
        "st_unreachable": "endpoint unreachable",
        "unreachable_text": "The function could not connect to the SMS API, so no numbers could be fetched. "
                            "The other calls of this page were not attempted.",
        "volume_day": "Submitted per day",
        "volume_hour": "Submitted per hour",
        "th_success_warn": "success warning {value}",
        "th_success_crit": "success critical {value}",
        "th_receipt_warn": "receipt warning {value}",
        "weak_key": "under {n} receipts",
        "band_key": "95% confidence band",
        "thresholds": "thresholds",
        "key_success": "success",
        "key_receipt": "receipt",
        "key_delivery": "delivery",
        "too_little": "too little traffic to chart rates",
        "axis_rule": "Every rate chart spans {lo} to 100%, the same for every app: the range holds the "
                     "thresholds and every point with at least {n} receipts of every app on this page.",
        "times_in": "Times in {zone}",
        "cut_days": "Showing the last {shown} of {asked} {unit}: fetching all of them would take longer than the "
                    "function may run ({calls} API calls at {rps}/s). With a state store (STATE_URL) settled days "
                    "are cached and the whole window fits.",
        "cut_apps": "Not shown: {apps}. There was no time left for their numbers; open the dashboard with "
                    "fewer apps (app_id=...).",
        "unit_day": "days",
        "unit_hour": "hours",
        "no_time": "not shown: no time left",
        "codes_day": "Failed receipts per day by code",
        "codes_hour": "Failed receipts per hour by code",
        "other_codes": "other codes",
        "no_failed_receipts": "no failed receipt",
        "countries": "Receipts by country/region",
        "nationcode": "country code",
        "pushed": "receipts",
        "failed_share": "failed share",
        "more_countries": "+{n} more",
        "receipts_off": "Failed receipts by code and country/region need the receipts callback: set RECEIPTS_SECRET "
                        "and STATE_URL, then paste each app's callback URL (sms-receipt-stats receipts-url APP_ID) "
                        "into the SMS console. How: docs/http-api.md, section Receipts.",
        "receipts_none": "No receipt was pushed for this app in this window: paste its callback URL "
                         "(sms-receipt-stats receipts-url {app_id}) into the SMS console (docs/http-api.md, Receipts).",
        "receipts_error": "The receipt counters could not be read from the state store just now.",
        "receipts_no_time": "Failed receipts by code: not shown, no time left to read them (open the page with "
                            "fewer apps, app_id=...).",
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
        "silenced_until": "已静默至 {when}",
        "all": "全部",
        "all_apps": "全部应用",
        "threshold": "{what}阈值 {value}",
        "status_ok": "正常",
        "status_warn": "低于告警阈值",
        "status_crit": "低于严重阈值",
        "status_none": "发送量太少,不作判断",
        "switch": "English",
        "hint": "处理建议",
        "status": "状态",
        "st_ok": "正常",
        "st_warn": "警告",
        "st_crit": "严重",
        "st_none": "发送量少",
        "st_error": "错误",
        "st_unreachable": "无法连接接口",
        "unreachable_text": "函数无法连接短信接口,未能获取数据;本页其余的查询未再尝试。",
        "volume_day": "每日提交量",
        "volume_hour": "每小时提交量",
        "th_success_warn": "成功率告警线 {value}",
        "th_success_crit": "成功率严重线 {value}",
        "th_receipt_warn": "回执率告警线 {value}",
        "weak_key": "空心:回执少于 {n} 条",
        "band_key": "95% 置信区间",
        "thresholds": "阈值",
        "key_success": "成功率",
        "key_receipt": "回执率",
        "key_delivery": "送达率",
        "too_little": "发送量太少,不画比率",
        "axis_rule": "所有比率图的纵轴都是 {lo} 到 100%,各应用相同:"
                     "范围包含阈值和本页所有应用中回执不少于 {n} 条的数据点。",
        "times_in": "时间均为 {zone}",
        "cut_days": "仅显示最近 {shown} 个{unit}(共 {asked} 个):全部查询({calls} 次接口调用,每秒 {rps} 次)"
                    "会超过函数的运行时限。配置状态存储(STATE_URL)后已结算的日期会被缓存,可显示整个区间。",
        "cut_apps": "未显示:{apps}。没有剩余时间查询这些应用;请减少应用数量(app_id=...)后再打开。",
        "unit_day": "日",
        "unit_hour": "小时",
        "no_time": "未显示:时间不足",
        "codes_day": "每日失败回执码",
        "codes_hour": "每小时失败回执码",
        "other_codes": "其他回执码",
        "no_failed_receipts": "没有失败回执",
        "countries": "按国家/地区的回执",
        "nationcode": "国家/地区码",
        "pushed": "回执",
        "failed_share": "失败占比",
        "more_countries": "另有 {n} 个",
        "receipts_off": "按回执码与国家/地区统计失败回执需要开启回执推送:配置 RECEIPTS_SECRET 与 STATE_URL,"
                        "再把各应用的回调地址(sms-receipt-stats receipts-url 应用ID)填入短信控制台。"
                        "详见 docs/http-api.md 的 Receipts 一节。",
        "receipts_none": "此区间内没有收到该应用的回执推送:请把它的回调地址(sms-receipt-stats receipts-url {app_id})"
                         "填入短信控制台(见 docs/http-api.md 的 Receipts 一节)。",
        "receipts_error": "暂时无法从状态存储读取回执计数。",
        "receipts_no_time": "失败回执码:时间不足,未显示(请减少应用数量 app_id=... 后再打开)。",
    },
}

RATE_KEYS = ("success_rate", "receipt_rate", "delivery_rate")
#: line colours by CSS class; the bar layers are f0..f4 in FAILURE_FIELDS order
STYLE = """
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--muted:#5d6575;--line:#e3e6eb;
--ok:#1a7f4b;--warn:#b25e00;--crit:#c62828;--none:#7a8190;
--success:#009e73;--receipt:#0072b2;--delivery:#cc79a7;
--f0:#d55e00;--f1:#e69f00;--f2:#56b4e9;--f3:#5d6575;--f4:#999933;--vol:#8a96aa;
--c0:#cc3311;--c1:#0077bb;--c2:#ee7733;--c3:#009988;--co:#8a96aa}
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
svg .threshold{stroke-width:1.4;stroke-dasharray:6 4}
svg .th-warn{stroke:var(--warn)}svg .th-crit{stroke:var(--crit);stroke-dasharray:10 3 2 3}
svg .th-receipt{stroke:var(--receipt);stroke-dasharray:2 3}
svg.chart .plate{fill:var(--card)}
svg.chart .band{stroke:none;fill-opacity:.18}
svg.chart .line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
svg.chart .line.s-success,svg.key .s-success{stroke-width:3.4}
svg.chart .line.s-receipt,svg.key line.s-receipt{stroke-dasharray:7 4;stroke-linecap:butt}
svg.chart .line.s-delivery,svg.key line.s-delivery{stroke-width:1.5;stroke-dasharray:2 3}
svg .dots .weak,svg.key .weak{fill:var(--card);stroke-width:1.5}
svg.chart .dots{stroke-width:0}
.vol{fill:var(--vol)}
.s-success{stroke:var(--success);fill:var(--success)}
.s-receipt{stroke:var(--receipt);fill:var(--receipt)}
.s-delivery{stroke:var(--delivery);fill:var(--delivery)}
.f0{fill:var(--f0);background:var(--f0)}.f1{fill:var(--f1);background:var(--f1)}
.f2{fill:var(--f2);background:var(--f2)}.f3{fill:var(--f3);background:var(--f3)}
.f4{fill:var(--f4);background:var(--f4)}
.c0{fill:var(--c0);background:var(--c0)}.c1{fill:var(--c1);background:var(--c1)}
.c2{fill:var(--c2);background:var(--c2)}.c3{fill:var(--c3);background:var(--c3)}.co{fill:var(--co);background:var(--co)}
.legend.codes code,ul.meanings code{color:var(--ink);overflow-wrap:anywhere}
ul.meanings{list-style:none;margin:6px 0 0;padding:0;font-size:12px;color:var(--muted)}
ul.meanings li{padding:1px 0;overflow-wrap:anywhere}
table.countries{margin-top:4px}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;margin:4px 0 0;padding:0;list-style:none;font-size:12px;
color:var(--muted)}
.legend li{display:flex;align-items:center;gap:5px}
.legend li.rules{gap:2px 8px;flex-wrap:wrap}.legend li.rules>span{display:inline-flex;align-items:center;gap:3px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px}
.sw.s-success{background:var(--success)}.sw.s-receipt{background:var(--receipt)}
.sw.s-delivery{background:var(--delivery)}
.sw.vol{background:var(--vol)}.sw.band-sw{opacity:.3;width:16px}
svg.key{width:28px;height:12px;flex:none;overflow:visible}
svg.key line{stroke-width:2}
ul.status{list-style:none;margin:0;padding:0}
ul.status li{display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 8px;padding:7px 0;
border-bottom:1px solid var(--line);min-width:0}
ul.status li:last-child{border-bottom:0}
ul.status .name{font-weight:600;overflow-wrap:anywhere;min-width:0}
ul.status .why{color:var(--muted);font-size:13px;overflow-wrap:anywhere;min-width:0}
ul.status code,.error code{font-size:13px;overflow-wrap:anywhere;word-break:break-word;white-space:normal}
.badge{display:inline-block;font-size:12px;font-weight:700;border-radius:4px;padding:1px 7px;color:#fff;
background:var(--none);white-space:nowrap}
.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}
.badge.crit,.badge.error{background:var(--crit);color:#fff}
.cut{border-left:4px solid var(--warn)}
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
.sev.silenced{background:var(--none)}li.alert.silenced{color:var(--muted)}
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
    return shorten(value, limit)


@dataclass(frozen=True)
class StateView:
    """What the state store says now: alerts as in the result document, silences as stored.
    `error` is set when the store could not be read (then both lists are empty)."""

    alerts: Sequence[Mapping[str, Any]] = ()
    silences: Sequence[Mapping[str, Any]] = ()
    error: bool = False


@dataclass(frozen=True)
class Omission:
    """What the page left out to answer within the function's time limit (docs/http-api.md, *Dashboard*)."""

    shown: int  # buckets (days or hours) shown per app, the newest ones
    asked: int  # buckets in the window asked for
    calls: int  # API calls the whole window would have needed
    rps: float
    apps_left_out: Sequence[str] = ()  # names of apps not queried at all


@dataclass(frozen=True)
class ReceiptsView:
    """Pushed receipts (docs/http-api.md, *Receipts*) as the state store counted them: per app, its
    failed receipts by code in each bucket of the page's series (the totals are on the app results:
    `receipt_codes`, `countries`); `error` when the counters could not be read."""

    failed: Mapping[str, Sequence[Mapping[str, int]]] = field(default_factory=dict)
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
    #: set when the page shows less than asked for, to stay within the time limit
    omitted: Optional[Omission] = None
    #: the account's SMS balance (`account.py`), when the page could read it
    packages: Optional[PackagesDoc] = None
    #: pushed receipts; None when they are off (no state store or no RECEIPTS_SECRET): a line says how
    receipts: Optional[ReceiptsView] = None


# -- formatting ------------------------------------------------------------------------------------------

def _hour(value: str) -> Optional[datetime]:
    return hour_label(value)


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


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError, ZoneInfoNotFoundError):  # the window's zone came validated; be safe
        return timezone.utc


def zone_label(moment: datetime) -> str:
    """`UTC+8`, `UTC+5:30`, `UTC-3`, `UTC`: the offset of an aware moment, short enough for every line."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(value: Any, tz: str) -> str:
    """A moment (ISO text, datetime or unix seconds; naive means UTC) as `2026-11-25 09:00 UTC+8`
    in the report zone: every time on the page reads on the same clock, with its zone said."""
    moment: Optional[datetime] = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            moment = None
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        return _cut(value, 40)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(_zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {zone_label(local)}"


def wilson(successes: int, n: int, z: float = 1.96) -> Optional[Tuple[float, float]]:
    """The Wilson score interval (95 % by default) of a proportion: where the true success rate
    lies given `successes` of `n`; honest for rates near 100 % and small `n`, unlike p ± z·se."""
    if n <= 0:
        return None
    p = min(1.0, max(0.0, successes / n))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


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
        self.tz = page.window.timezone
        self.lo = self.shared_floor()

    def shared_floor(self) -> float:
        """The bottom of every rate chart on the page (one rule for all apps, said in the footer):
        a round 10 % step under every threshold and every point that has enough traffic to plot."""
        th = self.page.thresholds
        values: List[Optional[float]] = []
        for r in self.page.results:
            for p in r.series or []:
                for key in RATE_KEYS:
                    if self.solid(key, p.stats):
                        values.append(getattr(p.rates, key))
        return rate_floor(values, [th.success_rate_min, th.success_rate_critical, th.receipt_rate_min])

    def solid(self, key: str, stats: Stats) -> bool:
        """Whether a rate has enough traffic under it to be drawn on the line (docs/http-api.md, *Dashboard*)."""
        denominator = stats.CallbackCount if key == "success_rate" else stats.RequestSuccessCount
        return denominator >= max(1, self.page.thresholds.min_volume)

    def tr(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def app_name(self, result: AppResult) -> str:
        return _cut(result.app_name or result.app_id, 64)

    # status: one line per app, first thing on the page -------------------------------------------------
    def app_status(self, r: AppResult) -> str:
        """ok / warn / crit / none / error / unreachable: the worst verdict of the watched rates."""
        if r.error is not None:
            return "unreachable" if is_unreachable(r.error.code, r.error.message) else "error"
        if r.stats is None:
            return "none"
        rates = r.rates or compute_rates(r.stats)
        found = {rate_status(key, getattr(rates, key), r.stats, self.page.thresholds)
                 for key in ("success_rate", "receipt_rate")}
        for worst in ("crit", "warn", "ok"):
            if worst in found:
                return worst
        return "none"

    def status(self) -> str:
        rows = []
        judged = [(r, self.app_status(r)) for r in self.page.results]
        judged.sort(key=lambda item: self.status_rank(*item))  # worst first: on a phone it is above the fold
        for r, verdict in judged:
            badge_class = "error" if verdict == "unreachable" else verdict
            badge = f'<span class="badge {badge_class}">{esc(self.tr(f"st_{verdict}"))}</span>'
            name = f'<a class="name" href="#app-{esc(r.app_id)}">{esc(self.app_name(r))}</a>'
            if r.error is not None:
                why = code_html(r.error.code)
            elif r.stats is None:
                why = f'<span class="why">{esc(self.tr("no_data"))}</span>'
            else:
                s, rates = r.stats, r.rates or compute_rates(r.stats)
                parts = [f"{self.tr('success_rate')} {pct(rates.success_rate)}",
                         f"{self.tr('receipt_rate')} {pct(rates.receipt_rate)}",
                         f"{num(s.RequestSuccessCount)} {self.tr('submitted')}"]
                why = f'<span class="why">{esc(" · ".join(parts))}</span>'
            rows.append(f'<li class="st {verdict}">{badge}{name}{why}</li>')
        for left_out in (self.page.omitted.apps_left_out if self.page.omitted else ()):
            rows.append(f'<li class="st none"><span class="badge">—</span><span class="name">{esc(_cut(left_out, 64))}'
                        f'</span><span class="why">{esc(self.tr("no_time"))}</span></li>')
        return (f'<section class="card" aria-labelledby="status"><h2 id="status">{esc(self.tr("status"))}</h2>'
                f'<ul class="status">{"".join(rows)}</ul>{self.omission()}</section>')

    @staticmethod
    def status_rank(result: AppResult, verdict: str) -> int:
        """Where an app's status line goes: critical (and a critical error) first, then other
        errors, warnings, too little traffic, ok; config order among equals (a stable sort)."""
        if verdict in ("error", "unreachable"):
            critical = result.error is not None and result.error.severity == "critical"
            return 0 if critical or verdict == "unreachable" else 1
        return {"crit": 0, "warn": 2, "none": 3, "ok": 4}.get(verdict, 3)

    def omission(self) -> str:
        cut = self.page.omitted
        if cut is None or cut.shown >= cut.asked:
            return ""
        unit = self.tr("unit_hour" if self.page.granularity == "hour" else "unit_day")
        rps = f"{cut.rps:g}"
        if not cut.shown:
            return ""
        said = self.tr("cut_days", shown=cut.shown, asked=cut.asked, unit=unit, calls=num(cut.calls), rps=rps)
        return f'<p class="note cut">{esc(said)}</p>'

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
        alerts = [a for a in view.alerts if isinstance(a, Mapping)
                  and (a.get("app_id") in wanted or (a.get("app_id") is None and a.get("rule") == "api_error"))]
        alerts.sort(key=lambda a: -SEVERITY_RANK.get(str(a.get("severity")), -1))  # critical first, stable
        items = [self.alert(a, names, view.silences) for a in alerts]
        body = (f'<ul class="items">{"".join(items)}</ul>' if items
                else f'<p class="note">{esc(self.tr("no_alerts"))}</p>')
        silences = [s for s in view.silences if isinstance(s, Mapping) and self.silence_applies(s, wanted)]
        sil_items = [self.silence(s) for s in silences]
        sil_body = (f'<ul class="items">{"".join(sil_items)}</ul>' if sil_items
                    else f'<p class="note">{esc(self.tr("no_silences"))}</p>')
        return (f'{title}{body}'
                f'<h2 id="silences" class="sub">{esc(self.tr("silences"))}</h2>{sil_body}</section>')

    def alert(self, alert: Mapping[str, Any], names: Mapping[str, str],
              silences: Sequence[Mapping[str, Any]] = ()) -> str:
        """One alert in the page's language (the chat's words, `render.report.alert_facts`), named
        once; a silenced one is grey and says until when."""
        severity = str(alert.get("severity") or "")
        silenced = alert.get("silenced") is True
        level = severity if severity in SEVERITY_RANK else "other"
        shown_level = "silenced" if silenced else level
        badge = (f'<span class="sev {shown_level}">'
                 f'{esc(self.tr(level) if level != "other" else _cut(severity, 20))}</span>')
        app_id = alert.get("app_id")
        who_html, what = self.alert_facts(alert)
        if app_id is not None:
            who_html = esc(names.get(str(app_id), _cut(app_id, 64)))
        who = f"<strong>{who_html or esc(self.tr('all_apps'))}</strong>"
        parts = [f"{badge}{who} · {what}"]
        extra = []
        if alert.get("since"):
            extra.append(self.tr("since", when=local_time(alert["since"], self.tz)))
        if silenced:
            until = silenced_until(alert, silences)
            extra.append(self.tr("silenced_until", when=local_time(until, self.tz)) if until
                         else self.tr("silenced"))
        if extra:
            parts.append(f' <span class="meta">({esc(" · ".join(extra))})</span>')
        return f'<li class="alert {shown_level}">{"".join(parts)}</li>'

    def alert_facts(self, alert: Mapping[str, Any]) -> Tuple[str, str]:
        """(who, what) as HTML, in the chat's words and this page's language (every untrusted part
        escaped by `HtmlMarkup`); a record this version cannot read (another version's, or
        damaged) falls back on its own message, escaped."""
        from pydantic import ValidationError

        from sms_receipt_stats.documents import Alert
        from sms_receipt_stats.render.report import alert_facts

        try:
            parsed = Alert.model_validate(dict(alert))
        except (ValidationError, TypeError, ValueError):
            return "", esc(_cut(alert.get("message") or alert.get("rule") or ""))
        return alert_facts(parsed, self.lang, self.page.thresholds, self.page.results, HtmlMarkup())

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
            extra.append(self.tr("until", when=local_time(silence["ends_at"], self.tz)))
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
            lead = (f'<p class="error"><strong>{esc(self.tr("st_unreachable"))}</strong>: '
                    f'{esc(self.tr("unreachable_text"))}</p>') if is_unreachable(err.code, err.message) else ""
            body = (lead + f'<p class="error">{code_html(err.code)}: {esc(_cut(err.message))}</p>'
                    + (f'<p class="note">{esc(self.tr("hint"))}: {esc(_cut(err.hint, 400))}</p>' if err.hint else ""))
            return f'<section class="card" id="app-{ident}">{head}{body}</section>'
        stats = result.stats or Stats()
        rates = result.rates or compute_rates(stats)
        charts = f"{self.volume_chart(result)}{self.rate_chart(result)}{self.failure_chart(result)}"
        receipts, note = self.receipts(result)
        return (f'<section class="card" id="app-{ident}">{head}{self.tiles(stats, rates)}{self.send(result)}'
                f'<div class="charts">{charts}{receipts}</div>{note}'
                f"{self.table(result)}</section>")

    # pushed receipts ----------------------------------------------------------------------------------------
    def receipts_note(self) -> str:
        """The page's one line when receipts are off (how to turn them on) or could not be read."""
        view = self.page.receipts
        if view is None:
            return f'<p class="note receipts">{esc(self.tr("receipts_off"))}</p>'
        if view.error:
            return f'<p class="note receipts error">{esc(self.tr("receipts_error"))}</p>'
        return ""

    def receipts(self, result: AppResult) -> Tuple[str, str]:
        """(figures, note) of an app's pushed receipts: the codes chart and the country table when
        it has receipts in the window, else a line saying how to set its callback up."""
        view = self.page.receipts
        if view is None or view.error:
            return "", ""
        if result.app_id not in view.failed:  # the time limit came first
            return "", f'<p class="note receipts">{esc(self.tr("receipts_no_time"))}</p>'
        if not any(c.count > 0 for c in result.countries or []):
            return "", f'<p class="note receipts">{esc(self.tr("receipts_none", app_id=_cut(result.app_id, 32)))}</p>'
        return self.codes_chart(result, view) + self.country_table(result), ""

    def codes_chart(self, result: AppResult, view: ReceiptsView) -> str:
        per = "hour" if self.page.granularity == "hour" else "day"
        labels = self.labels(result)
        found = list(view.failed.get(result.app_id) or [])
        buckets = [found[i] if i < len(found) else {} for i in range(len(labels))]
        codes = [c for c in result.receipt_codes or [] if c.count > 0]
        top = [c.code for c in codes[:CODE_LAYERS]]
        layers = [Series(f"c{i}", _cut(code, 64), [b.get(code, 0) for b in buckets]) for i, code in enumerate(top)]
        other = [sum(n for code, n in b.items() if code not in top) for b in buckets]
        if any(other):
            layers.append(Series("co", self.tr("other_codes"), other))
        svg = stacked_bars(labels, layers, title=f"{self.tr(f'codes_{per}')} · {self.app_name(result)}",
                           ident=f"codes-{result.app_id}", no_data=self.tr("no_failed_receipts"),
                           value_text=lambda v: num(int(v)))
        items, meanings = [], []
        for i, c in enumerate(codes[:CODE_LAYERS]):
            code = f"<code>{esc(_cut(c.code, 64))}</code>"
            items.append(f'<li><span class="sw c{i}"></span>{code}<span>{num(c.count)}</span></li>')
            if c.meaning:  # an unknown code has none: nothing is invented
                meanings.append(f'<li>{code} {esc(_cut(c.meaning.rstrip(".。"), MEANING_MAX))}</li>')
        rest = sum(c.count for c in codes[CODE_LAYERS:])
        if rest:
            items.append(f'<li><span class="sw co"></span><span>{esc(self.tr("other_codes"))}</span>'
                         f"<span>{num(rest)}</span></li>")
        said = f'<ul class="meanings">{"".join(meanings)}</ul>' if meanings else ""
        return (f'<figure><h3>{esc(self.tr(f"codes_{per}"))}</h3>{svg}'
                f'<ul class="legend codes">{"".join(items)}</ul>{said}</figure>')

    def country_table(self, result: AppResult) -> str:
        countries = sorted((c for c in result.countries or [] if c.count > 0),
                           key=lambda c: (-c.failed, -c.count, c.nationcode))
        head = "".join(f"<th>{esc(self.tr(key))}</th>" for key in ("nationcode", "pushed", "failed", "failed_share"))
        rows = [f"<tr><td>+{esc(_cut(c.nationcode.lstrip('+'), 8))}</td><td>{num(c.count)}</td>"
                f"<td>{num(c.failed)}</td><td>{pct(round(c.failed / c.count, 4))}</td></tr>"
                for c in countries[:COUNTRY_ROWS]]
        if len(countries) > COUNTRY_ROWS:
            rows.append(f'<tr><td colspan="4">{esc(self.tr("more_countries", n=len(countries) - COUNTRY_ROWS))}'
                        "</td></tr>")
        return (f'<figure><h3>{esc(self.tr("countries"))}</h3><div class="scroll"><table class="countries">'
                f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div></figure>')

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

    def send(self, result: AppResult) -> str:
        """`API accepted 1,990 of 2,000 submitted (99.50%) · billed 2,400` (SendStatusStatistics)."""
        s = result.send
        if s is None:
            return ""
        rate = pct(s.accept_rate) if s.accept_rate is not None else self.tr("na")
        line = self.tr("send_line", accepted=num(s.accepted), submitted=num(s.submitted), rate=rate,
                       billed=num(s.billed))
        return f'<p class="note send">{esc(line)}</p>'

    def balance(self) -> str:
        """The account's balance, the chat report's words (`render.report`), as one line."""
        packages = self.page.packages
        if packages is None:
            return ""
        from sms_receipt_stats.render.report import balance_text

        return f'<p class="meta balance">{esc(balance_text(packages, self.lang))}</p>'

    def labels(self, result: AppResult) -> List[str]:
        return [bucket_label(p.begin, self.page.granularity) for p in result.series or []]

    def rate_chart(self, result: AppResult) -> str:
        points = result.series or []
        per = "hour" if self.page.granularity == "hour" else "day"
        th = self.page.thresholds
        series = []
        for key, marker in (("success_rate", "circle"), ("receipt_rate", "square"), ("delivery_rate", "diamond")):
            solid = [self.solid(key, p.stats) for p in points]
            band = None
            if key == "success_rate":
                band = [wilson(p.stats.CallbackSuccessCount, p.stats.CallbackCount) if ok else None
                        for p, ok in zip(points, solid)]
            series.append(Series(key.split("_")[0], self.tr(key), [getattr(p.rates, key) for p in points],
                                 solid=solid, band=band, marker=marker))
        rules = [Threshold(th.success_rate_min, self.tr("th_success_warn", value=pct_threshold(th.success_rate_min)),
                           "warn"),
                 Threshold(th.success_rate_critical,
                           self.tr("th_success_crit", value=pct_threshold(th.success_rate_critical)), "crit"),
                 Threshold(th.receipt_rate_min, self.tr("th_receipt_warn", value=pct_threshold(th.receipt_rate_min)),
                           "receipt")]
        svg = line_chart(self.labels(result), series, title=f"{self.tr(f'rates_{per}')} · {self.app_name(result)}",
                         ident=f"rates-{result.app_id}", no_data=self.tr("no_data"), value_text=pct,
                         thresholds=rules, lo=self.lo, too_little=self.tr("too_little"))
        # short, so that on a phone the key stays well under the chart's height: the lines by their
        # short names (the heading says they are rates), the three rules on one line by their
        # values (colour as the line they guard; the full name on hover and for screen readers)
        legend = "".join(f"<li>{_key_line(f's-{s.key}', s.marker)}{esc(self.tr(f'key_{s.key}'))}</li>"
                         for s in series)
        legend += (f'<li class="rules">{esc(self.tr("thresholds"))}'
                   + "".join(f'<span title="{esc(r.label)}">{_key_rule(r.key)}'
                             f'<span class="vh">{esc(r.label)}</span>'
                             f'<span aria-hidden="true">{esc(pct_threshold(r.value))}</span></span>' for r in rules)
                   + "</li>")
        legend += (f'<li>{_key_line("s-success", "circle", weak=True)}'
                   f'{esc(self.tr("weak_key", n=num(th.min_volume)))}</li>')
        legend += f'<li><span class="sw s-success band-sw"></span>{esc(self.tr("band_key"))}</li>'
        return (f'<figure><h3>{esc(self.tr(f"rates_{per}"))}</h3>{svg}'
                f'<ul class="legend">{legend}</ul></figure>')

    def volume_chart(self, result: AppResult) -> str:
        points = result.series or []
        per = "hour" if self.page.granularity == "hour" else "day"
        layer = Series("vol", self.tr("submitted"), [p.stats.RequestSuccessCount for p in points])
        svg = stacked_bars(self.labels(result), [layer], title=f"{self.tr(f'volume_{per}')} · {self.app_name(result)}",
                           ident=f"volume-{result.app_id}", no_data=self.tr("no_data"),
                           value_text=lambda v: num(int(v)))
        stats = result.stats or Stats()
        legend = (f'<li><span class="sw vol"></span>{esc(self.tr("submitted"))} {num(stats.RequestSuccessCount)}</li>')
        return (f'<figure><h3>{esc(self.tr(f"volume_{per}"))}</h3>{svg}'
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
        generated = local_time(page.generated_at, self.tz)
        switch = (f'<a href="{esc(page.switch_href)}" lang="{"en" if self.lang == "zh" else "zh"}">'
                  f'{esc(self.tr("switch"))}</a>') if page.switch_href else ""
        zone = f"{_cut(self.tz, 64)}, {zone_label(page.generated_at.astimezone(_zone(self.tz)))}"
        header = (f'<header class="top"><h1>{esc(self.tr("title"))}</h1>{switch}</header>'
                  f'<p class="meta">{esc(self.tr("window"))}: {esc(window_text(page.window))} · '
                  f'{esc(self.tr("one_app") if n == 1 else self.tr("n_apps", n=n))} · '
                  f'{esc(self.tr("generated"))}: {esc(generated)} · {esc(self.tr("times_in", zone=zone))}</p>')
        blocks = [header, self.balance(), self.status(), self.state(), self.receipts_note()]
        blocks.extend(self.app(r) for r in page.results)
        rule = self.tr("axis_rule", lo=pct_threshold(self.lo), n=num(page.thresholds.min_volume))
        blocks.append(f"<footer><p>{esc(rule)}</p><p>{esc(self.tr('late_note'))}</p></footer>")
        return html_document(self.lang, f"{self.tr('title')} · {window_text(page.window)}", "".join(blocks))


class HtmlMarkup(Markup):
    """The chat report's markup as HTML, so the page says an alert in the chat's own words:
    untrusted text escaped, error codes that break after their dots on a phone."""

    name = "html"
    lt = "&lt;"

    def escape(self, text: str) -> str:
        return esc(clean(text))

    def bold(self, text: str) -> str:
        return f"<strong>{text}</strong>"

    def code(self, text: str) -> str:
        """`text` is a code the report already escaped (or a catalogue constant)."""
        return f'<code title="{text}">{text.replace(".", ".<wbr>")}</code>'


def silenced_until(alert: Mapping[str, Any], silences: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The latest end of the silences whose matchers all match the alert (unset matchers match all)."""
    ends = []
    for silence in silences:
        matchers = silence.get("matchers") if isinstance(silence, Mapping) else None
        if not isinstance(matchers, Mapping) or not silence.get("ends_at"):
            continue
        if all(matchers.get(k) in (None, "") or matchers.get(k) == alert.get(k) for k in ("app_id", "rule", "code")):
            ends.append(str(silence["ends_at"]))
    return max(ends, key=_sort_moment) if ends else None


def _sort_moment(value: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def code_html(code: str) -> str:
    """An error code, escaped, that a narrow screen breaks after its dots (`Unauthorized.<wbr>...`)
    rather than inside a word; whole, never cut short."""
    shown = esc(_cut(code, 100))
    return f'<code title="{shown}">{shown.replace(".", ".<wbr>")}</code>'


def is_unreachable(code: str, message: str) -> bool:
    """An error that says the endpoint could not be reached at all (see `sdk.network_error`)."""
    return code == "ClientNetworkError" and message.startswith("endpoint unreachable")


def _key_line(cls: str, marker: str, weak: bool = False) -> str:
    """A legend sample of a line: its stroke and dash, and its marker (hollow for `weak`)."""
    shape = {"square": '<rect x="11" y="3" width="6" height="6"{w}/>',
             "diamond": '<path d="M14 2L18 6L14 10L10 6Z"{w}/>'}.get(marker, '<circle cx="14" cy="6" r="3.2"{w}/>')
    line = "" if weak else f'<line class="{cls}" x1="0" x2="28" y1="6" y2="6"/>'
    mark = shape.format(w=' class="weak"' if weak else "")
    return f'<svg class="key" viewBox="0 0 28 12" aria-hidden="true"><g class="{cls}">{line}{mark}</g></svg>'


def _key_rule(key: str) -> str:
    return (f'<svg class="key" viewBox="0 0 28 12" aria-hidden="true">'
            f'<line class="threshold th-{key}" x1="0" x2="28" y1="6" y2="6"/></svg>')


def render_page(page: Page) -> str:
    """The whole HTML document."""
    return _Builder(page).build()


#: error pages: (title, what happened) per kind, and how to get in, in each language
ERRORS: Dict[str, Dict[str, Tuple[str, str]]] = {
    "en": {
        "expired": ("This link has expired",
                    "Dashboard links in chat reports and alerts work for 7 days after the message was sent."),
        "invalid": ("This link is not valid",
                    "It was changed or cut short after it was made, or it was made with another key."),
        "disabled": ("Signed links are switched off",
                     "This function has no LINK_SECRET, so it cannot check a link."),
        "auth": ("Sign-in needed", "This page opens from a dashboard link in a chat report or alert, or with an "
                                   "API token."),
        "forbidden": ("Not allowed", "{message}"),
        "bad_request": ("This address is not right", "{message}"),
        "failed": ("The dashboard could not be shown", "{message}"),
    },
    "zh": {
        "expired": ("链接已过期", "聊天报告和告警中的看板链接在消息发出后 7 天内有效。"),
        "invalid": ("链接无效", "链接在生成后被修改或截断,或由其他密钥生成。"),
        "disabled": ("未启用签名链接", "此函数未配置 LINK_SECRET,无法校验链接。"),
        "auth": ("需要登录", "请通过聊天报告或告警中的看板链接打开本页,或使用 API 令牌访问。"),
        "forbidden": ("无权访问", "{message}"),
        "bad_request": ("地址有误", "{message}"),
        "failed": ("看板暂时无法显示", "{message}"),
    },
}
HOW_TO: Dict[str, str] = {
    "en": "To get a fresh link: open the link in the newest report or alert (each message carries one), or ask "
          "the operator for the next report. With an API token, open this address with the header "
          "Authorization: Bearer <token>.",
    "zh": "获取新链接:打开最新一条报告或告警中的链接(每条消息都带有链接),或请运维人员发送下一份报告。"
          "持有 API 令牌时,可带请求头 Authorization: Bearer <令牌> 打开此地址。",
}


def error_kind(status: int, link_reason: Optional[str]) -> str:
    if link_reason in ("expired", "invalid", "disabled"):
        return link_reason
    if status == 401:
        return "auth"
    if status == 403:
        return "forbidden"
    return "bad_request" if status < 429 else "failed"


def render_error(lang: str, status: int, code: str, message: str, link_reason: Optional[str] = None) -> str:
    """An error answer as a page for a person (a chat link opened on a phone): what happened, in
    the page's language, and how to get a fresh link; the code and our message for whoever helps.
    `message` is ours (never upstream text with a secret): it is escaped, not scrubbed."""
    lang = lang if lang in ERRORS else "en"
    kind = error_kind(status, link_reason)
    title, said = ERRORS[lang][kind]
    said = said.format(message=_cut(message))
    how = f'<p>{esc(HOW_TO[lang])}</p>' if kind in ("expired", "invalid", "auth", "disabled") else ""
    details = f'<p class="note">{status} · <code>{esc(_cut(code, 100))}</code>'
    if kind in ("expired", "invalid", "disabled", "auth") and lang == "en":  # our message is English
        details += f" · {esc(_cut(message))}"
    details += "</p>"
    body = (f'<header class="top"><h1>{esc(text(lang, "title"))}</h1></header>'
            f'<section class="card failed" aria-labelledby="what"><h2 id="what">{esc(title)}</h2>'
            f"<p>{esc(said)}</p>{how}{details}</section>")
    return html_document(lang, f"{title} · {text(lang, 'title')}", body)


def html_document(lang: str, title: str, body: str) -> str:
    """The page around `body`: the same head, CSP meta and style for the page and its error pages."""
    html_lang = "zh-CN" if lang == "zh" else "en"
    return ("<!DOCTYPE html>"
            f'<html lang="{html_lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP_META)}">'
            '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
            '<link rel="icon" href="data:,">'
            f"<title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>")
