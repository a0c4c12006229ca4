"""The report a person reads in five seconds, built once and marked up per platform.

A message is blocks in a fixed order: heading, alerts (loud, first), errors, one block
per app (troubled apps first), footer. Truncation drops whole app blocks from the end,
then alerts, and only as a last resort cuts bytes, so what matters most survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import Alert, AppResult, PackagesDoc, ResultDocument, SeriesPoint, WindowDoc
from sms_receipt_stats.notify.markup import ZWSP, Markup
from sms_receipt_stats.render.i18n import num, pct, pct_threshold, rule_spec, rule_title, span_text, t
from sms_receipt_stats.stats import FAILURE_FIELDS, Rates, compute_rates
from sms_receipt_stats.text import cut_utf8, shorten, utf8_len
from sms_receipt_stats.vocabulary import SEVERITY_RANK
from sms_receipt_stats.windows import hour_label

# Untrusted strings are shortened before escaping so that one huge name or upstream
# message cannot crowd out the rest of a message.
NAME_MAX = 64
MESSAGE_MAX = 300
HINT_MAX = 400
CODE_MAX = 100
ERRORS_MAX = 5
#: a series up to this many buckets is listed, a longer one only counted
SERIES_MAX = 7
#: pushed receipts (docs/http-api.md, *Receipts*): the failing codes and countries a message names,
#: the rest only counted; a code's meaning is cut to MEANING_MAX characters
CODES_TOP = 3
COUNTRIES_TOP = 3
MEANING_MAX = 80
#: the rate alerts whose line names the app's top failing receipt codes
CODED_RULES = ("success_rate_below", "success_rate_drop")

#: The shape of a Tencent Cloud error code (`UnauthorizedOperation.ServiceSuspendDueToArrears`):
#: CamelCase words joined by dots, each with a lower-case letter, so no all-caps or lower-case
#: `label.tld`. Shown verbatim in a code span, so it can be copied and searched.
API_CODE = re.compile(r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)*")
#: a dotted word of escaped text, its dots defanged (`markup.clean`): an error code quoted in a
#: free-text error line (`doctor test: ...: FAILED: UnauthorizedOperation.X: ...`) looks like one
_DEFANGED_CODE = re.compile(r"(?<![\w.\-\u200b])[A-Za-z][A-Za-z0-9]*(?:\.\u200b[A-Za-z][A-Za-z0-9]*)+(?![\w\-.])")
#: the code the configuration rule gives every issue: the alert's title already says it
CONFIG_CODE = "ConfigError"

ALERT_MARK = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
TITLE_MARK = {"critical": "🔴", "warning": "⚠️", "info": "✅"}
OK, WARN, CRIT, NONE = "✅", "⚠️", "🔴", "—"
#: a rate too thin to judge on its own, judged by its alert over the hours before it as well
POOLED = "Σ"
#: the rate each rate rule judges, by the key of the rate
RATE_RULES = {"success_rate": "success_rate_below", "receipt_rate": "receipt_rate_below"}
RESOLVED_MARK = "✅"
#: most apps a group's notice names one by one; the others are counted
GROUP_APPS_MAX = 20
#: the rules whose alert value is a rate (shown as a percentage in a group's notice)
RATE_FIGURES = ("success_rate_below", "receipt_rate_below", "success_rate_drop", "submit_rejected")

#: (app ids, window begin, window end) → the URL of the dashboard for them, or None (`links.DetailsLinks`)
DetailsLink = Callable[[Sequence[str], str, str], Optional[str]]


@dataclass(frozen=True)
class RenderedMessage:
    """One chat message.

    `title` is short plain text (DingTalk `title`, Feishu card header, notification
    preview). `text` is the body in the flavor's markup; it starts with the title as a
    heading except for feishu, whose card header shows the title. `text` never exceeds
    the flavor's byte limit (UTF-8), `truncated` says whether something was left out.
    """

    title: str
    text: str
    severity: str
    truncated: bool


@dataclass(frozen=True)
class Report:
    """A message as blocks of lines, before fitting it to a size."""

    title: str
    severity: str
    head: Tuple[str, ...]
    alerts: Tuple[str, ...]
    errors: Tuple[str, ...]
    apps: Tuple[str, ...]
    footer: Tuple[str, ...]


def _catalogued(code: str) -> bool:
    """A code of the error catalogue is a known constant (letters, digits, dots, none a TLD):
    shown verbatim so an operator can copy and search it. Anything else is untrusted text."""
    from sms_receipt_stats.catalogue import CATALOGUE

    return code in CATALOGUE


#: a Han character: a message that has one was written in Chinese
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def written_in(text: str) -> str:
    """`zh` when `text` has a Han character, else `en`: the language a rule's sentence was written in."""
    return "zh" if _HAN.search(text) else "en"


def _parse_iso(value: str) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def _stamp(moment: datetime) -> str:
    """`2026-11-24 09:00:03 +08:00`."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    offset = moment.strftime("%z")
    return f"{text} {offset[:-2]}:{offset[-2:]}" if offset else text


def _window_span(window: WindowDoc) -> Optional[Tuple[datetime, datetime]]:
    begin, end = hour_label(window.begin), hour_label(window.end)
    return (begin, end) if begin and end else None


def _fmt_hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _title_window(window: WindowDoc, generated: Optional[date], lang: str) -> str:
    """`yesterday 2026-11-23`, `2026-11-17 → 2026-11-23`, `2026-11-24 13:00 → 23:00`."""
    span = _window_span(window)
    if span is None:
        return ""
    begin, end = span
    whole_days = begin.hour == 0 and end.hour == 0
    if whole_days and end - begin == timedelta(days=1):
        day = begin.date()
        if generated is not None and day == generated - timedelta(days=1):
            return f"{t(lang, 'yesterday')} {day.isoformat()}"
        return day.isoformat()
    if whole_days:
        return f"{begin.date().isoformat()} → {(end - timedelta(days=1)).date().isoformat()}"
    if begin.date() == end.date():
        return f"{_fmt_hour(begin)} → {end:%H:%M}"
    return f"{_fmt_hour(begin)} → {_fmt_hour(end)}"


def _window_text(window: WindowDoc, m: Markup) -> str:
    span = _window_span(window)
    if span is None:
        shown = f"{m.escape(shorten(window.begin, 20))} → {m.escape(shorten(window.end, 20))}"
    else:
        shown = f"{_fmt_hour(span[0])} → {_fmt_hour(span[1])}"
    return f"{shown} ({m.escape(shorten(window.timezone, 64))})"


def _common_window(results: Sequence[AppResult]) -> Optional[WindowDoc]:
    windows = {(r.window.begin, r.window.end, r.window.timezone) for r in results}
    return results[0].window if len(windows) == 1 else None


def select(doc: ResultDocument, min_severity: str) -> Optional[Tuple[List[Alert], List[AppResult]]]:
    """The alerts and apps a sink at `min_severity` gets, or None when it gets nothing.

    A report (or lookup) at `info` shows everything; otherwise only alerts at or above
    the floor, and only the apps they concern.
    """
    if doc.shown_whole_at(min_severity):
        return doc.report_alerts(), list(doc.results)  # a report lists every current alert
    alerts = doc.alerts_at_least(min_severity)  # everything else: only what this run notifies
    if not alerts:
        return None
    wanted = {a.app_id for a in alerts if a.app_id}
    for alert in alerts:  # an account-wide API error concerns every app that failed with its code
        wanted.update(r.app_id for r in account_apps(alert, doc.results))
    return alerts, [r for r in doc.results if r.app_id in wanted]


def notice_groups(alerts: Sequence[Alert]) -> List[List[Alert]]:
    """`alerts` as the entries of a message, in order: the apps' alerts of one notice (the same
    `group`, rule and status, docs/alerts.md *Grouping*) together, every other alert alone."""
    entries: List[List[Alert]] = []
    index: Dict[Tuple[str, str, bool], int] = {}
    for alert in alerts:
        if alert.group is None or alert.app_id is None or alert.notified is False:
            entries.append([alert])
            continue
        key = (alert.group, alert.rule, alert.resolved)
        if key in index:
            entries[index[key]].append(alert)
        else:
            index[key] = len(entries)
            entries.append([alert])
    return entries


def account_apps(alert: Alert, results: Sequence[AppResult]) -> List[AppResult]:
    """The apps an account-wide alert (`api_error` with no app: every app failed alike) stands for."""
    if alert.app_id is not None or alert.rule != "api_error" or not alert.code:
        return []
    return [r for r in results if r.error is not None and r.error.code == alert.code]


def _app_order(results: List[AppResult], alerts: List[Alert]) -> List[AppResult]:
    """Troubled apps first, so that truncation from the end drops healthy ones."""
    level: Dict[str, int] = {}
    for a in alerts:
        if a.app_id:
            level[a.app_id] = max(level.get(a.app_id, -1), SEVERITY_RANK.get(a.severity, 0))
    for r in results:
        if r.error is not None:
            level[r.app_id] = max(level.get(r.app_id, -1), SEVERITY_RANK.get(r.error.severity, 0))
    indexed = list(enumerate(results))
    indexed.sort(key=lambda item: (-level.get(item[1].app_id, -1), item[0]))
    return [r for _, r in indexed]


class _Builder:
    def __init__(self, doc: ResultDocument, m: Markup, lang: str, thresholds: Thresholds,
                 details: Optional[DetailsLink] = None):
        self.doc, self.m, self.lang, self.th = doc, m, lang, thresholds
        self.details = details
        self.names = {r.app_id: r.app_name for r in doc.results if r.app_name}
        #: apps whose result is an error: their block shows the upstream message
        self.error_apps = {r.app_id for r in doc.results if r.error is not None}
        #: apps with an API-error alert in this message: their block leaves code and hint to the alert
        self.alerted_errors: Set[Optional[str]] = set()
        self.marks_used: Set[str] = set()
        self.run_at = _parse_iso(doc.generated_at)
        #: whether a message in another language may be quoted (chat: the run's own; the page: never)
        self.other_languages = True
        #: (app_id, rule) of the firing rate alerts in this message: their thin rates were judged pooled
        self.rate_alerts: Set[Tuple[Optional[str], str]] = set()
        #: apps whose receipt codes an alert line of this message names: their block leaves them out
        self.coded_apps: Set[str] = set()

    def tr(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def app_label(self, app_id: Optional[str]) -> str:
        m = self.m
        if not app_id:
            return ""
        ident = m.escape(shorten(app_id, 32))
        name = self.names.get(app_id)
        return f"{m.bold(m.escape(shorten(name, NAME_MAX)))} ({ident})" if name else m.bold(ident)

    def pct(self, rate: Optional[float]) -> str:
        """A rate as `77.02%`, or a word (not a bare symbol) when there is none."""
        return self.tr("na") if rate is None else pct(rate)

    def code(self, code: str) -> str:
        """An error code, copyable: in the platform's code span, never with an invisible character."""
        m = self.m
        if _catalogued(code) or (len(code) <= CODE_MAX and API_CODE.fullmatch(code)):
            return m.code(code)
        return m.code(m.escape(shorten(code, CODE_MAX)))

    def free_text(self, text: str) -> str:
        """Untrusted text escaped, except the catalogued error codes it quotes: those are shown as
        `code` shows them (copyable, no zero-width space after their dots)."""

        def verbatim(match: re.Match) -> str:
            code = match.group(0).replace(ZWSP, "")
            return self.code(code) if _catalogued(code) else match.group(0)

        return _DEFANGED_CODE.sub(verbatim, self.m.escape(shorten(text, MESSAGE_MAX)))

    def error_detail(self, code: Optional[str], message: Optional[str]) -> str:
        parts = []
        if code:
            parts.append(self.code(code))
        if message:
            parts.append(self.m.escape(shorten(message, MESSAGE_MAX)))
        return ": ".join(parts)

    def hint_line(self, hint: Optional[str]) -> Optional[str]:
        if not hint:
            return None
        return self.m.sub(f"💡 {self.tr('hint')}: {self.m.escape(shorten(hint, HINT_MAX))}")

    # alerts -----------------------------------------------------------------------
    def alert(self, alert: Alert) -> str:
        """One alert, each fact once: the app, what is wrong (value vs threshold, or the code),
        since when it fires (when known), then the hint on its own line."""
        m = self.m
        level = alert.severity
        label = self.app_label(alert.app_id)
        account = "" if label else self.account_label(alert)
        when = self.when(alert.since)
        if alert.resolved:
            head = f"{RESOLVED_MARK} {m.bold(self.tr('resolved'))}"
            what = self.alert_name(alert)
            line = f"{head} {label}: {what}" if label else f"{head} {what}"
            return line + (f" · {self.tr('firing_since', when=when)}" if when else "")
        head = f"{ALERT_MARK.get(level, '')} {m.severity(m.bold(self.tr(level)), level)}"
        what = self.alert_what(alert)
        line = f"{head} {label}: {what}" if label else f"{head} {what}"
        if account:  # every app failed alike: the apps are named here, and have no block of their own
            line += f" · {account}"
        if when:
            line += f" · {self.tr('since', when=when)}"
        if alert.silenced:
            line += f" · {self.tr('silenced')}"
        lines = [line, *self.alert_receipts(alert)]
        upstream = self.account_message(alert) if account else None
        if upstream:
            lines.append(m.sub(f"{self.tr('error')}: {m.escape(shorten(upstream, MESSAGE_MAX))}"))
        hint = self.hint_line(alert.hint)
        if hint:
            lines.append(hint)
        return m.join(lines)

    def group_alert(self, alerts: List[Alert]) -> str:
        """A group's notice (docs/alerts.md, *Grouping*): the rule once, then every app with its
        own figure (`success rate below threshold (90%) on 3 apps: prod 64.10%, …`)."""
        m, lead = self.m, alerts[0]
        level = max((a.severity for a in alerts), key=lambda s: SEVERITY_RANK.get(s, 0))
        mixed = len({a.severity for a in alerts}) > 1
        one_code = len({a.code for a in alerts}) == 1
        items = [self.group_item(a, mixed, not one_code) for a in alerts[:GROUP_APPS_MAX]]
        if len(alerts) > GROUP_APPS_MAX:
            items.append(self.tr("group_more", n=len(alerts) - GROUP_APPS_MAX))
        name = self.alert_name(lead) if one_code else self.title_of(lead.rule)
        thresholds = {a.threshold for a in alerts}
        threshold = thresholds.pop() if len(thresholds) == 1 else None
        if threshold is not None and lead.rule in RATE_RULES.values() and not lead.resolved:
            name += self.tr("group_threshold", threshold=pct_threshold(threshold))
        what = self.tr("group_head", title=name, n=len(alerts), apps=self.tr("list_separator").join(items))
        sinces = sorted(w for w in (self.when(a.since) for a in alerts) if w)
        when = sinces[0] if sinces else None
        if lead.resolved:
            line = f"{RESOLVED_MARK} {m.bold(self.tr('resolved'))} {what}"
            return line + (f" · {self.tr('firing_since', when=when)}" if when else "")
        line = f"{ALERT_MARK.get(level, '')} {m.severity(m.bold(self.tr(level)), level)} {what}"
        if when:
            line += f" · {self.tr('since', when=when)}"
        lines = [line]
        for hint in dict.fromkeys(a.hint for a in alerts if a.hint):
            lines.append(self.hint_line(hint) or "")
        return m.join(lines)

    def group_item(self, alert: Alert, mark: bool, code: bool) -> str:
        """One app of a group's notice: its label and its own figure (a rate, a count, or its
        error code when the apps' codes differ: otherwise the entry's title says it once)."""
        label = self.app_label(alert.app_id)
        if mark and not alert.resolved:
            label = f"{ALERT_MARK.get(alert.severity, '')} {label}"
        if alert.resolved:
            return label
        value = alert.value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and alert.threshold is not None:
            shown = pct(float(value)) if alert.rule in RATE_FIGURES else self.number(float(value), alert.threshold)
            return f"{label} {shown}"
        if code and alert.code and alert.code != CONFIG_CODE:
            return f"{label} {self.code(alert.code)}"
        return label

    def account_label(self, alert: Alert) -> str:
        """`all 3 apps: prod (1400006874), …` for an account-wide alert, every app named once."""
        apps = account_apps(alert, self.doc.results)
        spec = rule_spec(alert.rule)
        if not apps or spec is None or "all_apps" not in spec.texts.get(self.lang, {}):
            return ""
        labels = spec.text(self.lang, "list_separator").join(self.app_label(r.app_id) for r in apps)
        return spec.text(self.lang, "all_apps", n=len(apps), apps=labels)

    def account_message(self, alert: Alert) -> Optional[str]:
        """The upstream message of an account-wide error, once, when every app got the same."""
        messages = {r.error.message for r in account_apps(alert, self.doc.results) if r.error is not None}
        return messages.pop() if len(messages) == 1 else None

    def when(self, since: Optional[str]) -> Optional[str]:
        """When the problem started, from the state store; None when unknown or when it is this
        run's own time (an alert first seen now started at some point inside the window)."""
        moment = _parse_iso(since) if since else None
        if moment is None:
            return None
        if self.run_at is not None and moment.tzinfo is not None and moment >= self.run_at:
            return None
        return moment.strftime("%Y-%m-%d %H:%M")

    def title_of(self, rule: str) -> str:
        return rule_title(self.lang, rule) or self.m.escape(shorten(rule, 40))

    def alert_name(self, alert: Alert) -> str:
        """What a resolved notice names: the rule, and the error code of an API error."""
        name = self.title_of(alert.rule)
        if alert.code and alert.code != CONFIG_CODE:
            name += " " + self.code(alert.code)
        return name

    def alert_what(self, alert: Alert) -> str:
        """The alert's structured fields in words; its `message` only where no field says it."""
        rule, value, threshold = alert.rule, alert.value, alert.threshold
        if isinstance(value, (int, float)) and not isinstance(value, bool) and threshold is not None:
            if rule == "success_rate_drop":
                return self.tr("value_success_rate_drop", value=pct(float(value)), threshold=pct(threshold),
                               lt=self.m.lt, drop=self.points(self.th.drop_points, signed=False))
            if rule == "submit_rejected":
                return self.tr("value_submit_rejected", value=pct(float(value)), threshold=pct_threshold(threshold),
                               lt=self.m.lt, n=num(alert.volume or 0))
            if rule in ("package_low", "delivery_failures"):  # the rule's own sentence says which (above a ceiling)
                return f"{self.title_of(rule)}: {self.m.escape(shorten(alert.message, MESSAGE_MAX))}"
            if rule in ("success_rate_below", "receipt_rate_below"):
                line = self.tr(f"value_{rule}", value=pct(float(value)), threshold=pct_threshold(threshold),
                               lt=self.m.lt)
                return line + self.evidence(alert) + self.unsure(alert, float(value))
            return self.tr("value_generic", title=self.title_of(rule), value=self.number(float(value), threshold),
                           threshold=self.number(threshold, threshold), lt=self.m.lt)
        title = self.title_of(rule)
        code = alert.code if alert.code and alert.code != CONFIG_CODE else None
        message = None if self.message_shown_elsewhere(alert) else self.own_message(alert)
        detail = self.error_detail(code, message)
        if not detail:
            return title
        return f"{title} {detail}" if code else f"{title}: {detail}"

    def evidence(self, alert: Alert) -> str:
        """` (133 receipts over 2 h)`: what a rate verdict rests on, in the rule's own words."""
        spec = rule_spec(alert.rule)
        if spec is None or not alert.volume or not alert.hours or "evidence" not in spec.texts.get(self.lang, {}):
            return ""
        said = spec.text(self.lang, "evidence", n=num(alert.volume), span=span_text(self.lang, alert.hours))
        return self.tr("evidence", evidence=said)

    def unsure(self, alert: Alert, value: float) -> str:
        """Why a rate under the critical threshold is a warning: not yet sure enough for critical."""
        spec = rule_spec(alert.rule)
        critical = self.th.success_rate_critical
        if (spec is None or alert.severity != "warning" or value >= critical
                or "unsure" not in spec.texts.get(self.lang, {})):
            return ""
        return spec.text(self.lang, "unsure", critical=pct_threshold(critical))

    def number(self, value: float, threshold: float) -> str:
        """A value of an unknown rule: a percentage when it and its threshold are rates."""
        if 0 <= value <= 1 and 0 < threshold <= 1 and not float(threshold).is_integer():
            return pct(value)
        return num(int(value)) if float(value).is_integer() else f"{value:g}"

    def message_shown_elsewhere(self, alert: Alert) -> bool:
        """An app's API error: its code is on the alert line, the upstream message in the app's block
        (an account-wide one: in the block of each app it stands for)."""
        if not alert.app_id:
            return bool(account_apps(alert, self.doc.results))
        return alert.app_id in self.error_apps

    def own_message(self, alert: Alert) -> Optional[str]:
        """The alert's message without what the line already says: the app label prefix the rules
        write, and for a configuration error the raw issue (listed once, here, not under Errors)."""
        message = alert.message or ""
        if alert.rule == "api_error" and alert.code and message.endswith(alert.code):
            return None  # the rule's own "… failed with CODE": the line shows the code, in the reader's language
        issue = next((e for e in self.doc.errors if e and message.endswith(e)), None)
        if alert.rule == "config_error" and issue is not None:
            return issue
        if alert.app_id:
            for prefix in self.label_prefixes(alert.app_id):
                if message.startswith(prefix):
                    message = message[len(prefix):].lstrip(" :：")
                    break
        if message and not self.other_languages and written_in(message) != self.lang:
            return None  # a kept alert's sentence in the raising run's language: its title says enough
        return message or None

    def label_prefixes(self, app_id: str) -> List[str]:
        name = self.names.get(app_id)
        return [f"{name} ({app_id})", app_id] if name else [app_id]

    def alert_receipts(self, alert: Alert) -> List[str]:
        """Under a firing rate alert of an app: its top failing receipt codes and countries."""
        lines = [self.m.sub(part) for part in self.receipts_parts(self.result_of(alert))]
        if lines and alert.app_id:
            self.coded_apps.add(alert.app_id)
        return lines

    def result_of(self, alert: Alert) -> Optional[AppResult]:
        if alert.rule not in CODED_RULES or not alert.app_id or alert.resolved:
            return None
        return next((r for r in self.doc.results if r.app_id == alert.app_id), None)

    def receipts_parts(self, result: Optional[AppResult], meanings: bool = True) -> List[str]:
        """`failed receipts by code: DB:0141 ×120 — meaning; MK:0005 ×40 — meaning; +2 more` and
        `failures by country/region: +86: 110, +852: 10`: the app's top failing codes (pushed receipts,
        with a state store; an unknown code raw, without a meaning) and the countries with most failures."""
        if result is None:
            return []
        m = self.m
        codes = [c for c in result.receipt_codes or [] if c.count > 0]
        if not codes:
            return []
        shown = []
        for c in codes[:CODES_TOP]:
            item = f"{self.code(shorten(c.code, 64))} ×{num(c.count)}"
            if c.meaning and meanings:
                item += f" — {m.escape(shorten(c.meaning.rstrip('.。'), MEANING_MAX))}"
            shown.append(item)
        if len(codes) > CODES_TOP:
            shown.append(self.tr("codes_more", n=len(codes) - CODES_TOP))
        parts = [f"{self.tr('receipt_codes')}: " + "; ".join(shown)]
        failing = sorted((c for c in result.countries or [] if c.failed > 0), key=lambda c: (-c.failed, c.nationcode))
        if failing:
            places = [f"+{m.escape(shorten(c.nationcode.lstrip('+'), 8))}: {num(c.failed)}"
                      for c in failing[:COUNTRIES_TOP]]
            if len(failing) > COUNTRIES_TOP:
                places.append(self.tr("countries_more", n=len(failing) - COUNTRIES_TOP))
            parts.append(f"{self.tr('receipt_countries')}: " + ", ".join(places))
        return parts

    # apps -------------------------------------------------------------------------
    def app(self, result: AppResult, show_window: bool) -> str:
        m = self.m
        head = self.app_label(result.app_id)
        if show_window:
            head += f" · {_window_text(result.window, m)}"
        lines = [head]
        send = self.send_line(result)
        if result.error is not None:
            if send is not None:
                lines.append(send)
            err = result.error
            mark = ALERT_MARK.get(err.severity, ALERT_MARK["warning"])
            if result.app_id in self.alerted_errors:  # code and hint are on the alert line
                detail = self.error_detail(None, err.message)
                lines.append(m.sub(f"{mark} {self.tr('error')}: {detail}" if detail else f"{mark} {self.tr('error')}"))
                return m.join(lines)
            lines.append(m.sub(f"{mark} {self.tr('error')} {self.error_detail(err.code, err.message)}"))
            hint = self.hint_line(err.hint)
            if hint:
                lines.append(hint)
            return m.join(lines)
        if result.stats is None:
            lines.append(m.sub(self.tr("no_data")))
            return m.join(lines)
        s = result.stats
        rates = result.rates or compute_rates(s)
        lines.append(
            m.sub(
                " · ".join(
                    [
                        f"{self.tr('submitted')} {num(s.RequestSuccessCount)}",
                        f"{self.tr('receipts')} {num(s.CallbackCount)}",
                        f"{self.tr('delivered')} {num(s.CallbackSuccessCount)}",
                        f"{self.tr('failed')} {num(s.CallbackFailCount)}",
                    ]
                )
            )
        )
        if send is not None:
            lines.append(send)
        counts = [(f, getattr(s, f)) for f in FAILURE_FIELDS if getattr(s, f)]
        counts.sort(key=lambda item: -item[1])  # biggest first; ties keep the API's order
        if counts:
            lines.append(m.sub(f"{self.tr('failures')}: " + ", ".join(f"{self.tr(f)} {num(n)}" for f, n in counts)))
        if result.app_id not in self.coded_apps:  # else named under its alert
            lines.extend(m.sub(part) for part in self.receipts_parts(result))
        lines.append(m.sub(self.rates_line(rates, s.RequestSuccessCount, s.CallbackCount, result.app_id)))
        trend = result.trend
        if trend is not None and trend.baseline_success_rate is not None and trend.success_rate_change is not None:
            change = self.points(trend.success_rate_change)
            lines.append(m.sub(self.tr("trend", baseline=pct(trend.baseline_success_rate), change=change)))
        if result.series:
            lines.extend(self.series(result.series))
        return m.join(lines)

    def points(self, change: float, signed: bool = True) -> str:
        """A rate difference in percentage points: -0.052 -> `-5.20 pts`."""
        value = f"{change * 100:+.2f}" if signed else f"{change * 100:.2f}"
        return self.tr("points", value=value)

    def rates_line(self, rates: Rates, submitted: int, receipts: int, app_id: Optional[str] = None) -> str:
        th = self.th
        receipt = self.rate("receipt_rate", rates.receipt_rate, submitted, warn=th.receipt_rate_min, critical=None,
                            app_id=app_id)
        success = self.rate(
            "success_rate", rates.success_rate, receipts, warn=th.success_rate_min, critical=th.success_rate_critical,
            app_id=app_id,
        )
        # No rule watches delivery_rate, so it gets no status mark.
        delivery = f"{self.tr('delivery_rate')} {self.pct(rates.delivery_rate)}"
        return " · ".join([receipt, success, delivery])

    def rate(self, key: str, value: Optional[float], volume: int, warn: float, critical: Optional[float],
             app_id: Optional[str] = None) -> str:
        """The rate and its verdict mark (the same thresholds as the alert rules); the marks
        used are explained by the legend line in the footer. A rate too thin to judge alone whose
        rule fires on the hours before it as well is marked POOLED, never "too few to judge"."""
        if value is None:
            return f"{self.tr(key)} {self.tr('na')}"
        if volume < self.th.min_volume:
            mark = POOLED if (app_id, RATE_RULES.get(key)) in self.rate_alerts else NONE
        elif critical is not None and value < critical:
            mark = CRIT
        elif value < warn:
            mark = WARN
        else:
            mark = OK
        self.marks_used.add(mark)
        return f"{self.tr(key)} {pct(value)} {mark}"

    def legend(self) -> Optional[str]:
        """One line saying what each mark in the message means, only the marks it uses."""
        keys = [(OK, "legend_ok"), (WARN, "legend_warn"), (CRIT, "legend_crit"), (NONE, "legend_low"),
                (POOLED, "legend_pooled")]
        parts = [self.tr(key, n=num(self.th.min_volume)) for mark, key in keys if mark in self.marks_used]
        return f"{self.tr('legend')}: " + " · ".join(parts) if parts else None

    def series(self, points: List[SeriesPoint]) -> List[str]:
        m = self.m
        unit = self.series_unit(points[0])
        if len(points) > SERIES_MAX:
            return [m.sub(self.tr("series_omitted", n=len(points), unit=self.tr(unit)))]
        lines = [m.sub(self.tr("series_head", unit=self.tr(unit)) + ":")]
        for p in points:
            begin = hour_label(p.begin)
            label = m.escape(shorten(p.begin, 20)) if begin is None else self.bucket_label(begin, unit)
            rates = p.rates
            lines.append(
                m.sub(
                    f"{label}: {self.tr('submitted')} {num(p.stats.RequestSuccessCount)}, "
                    f"{self.tr('receipt_rate')} {self.pct(rates.receipt_rate)}, "
                    f"{self.tr('success_rate')} {self.pct(rates.success_rate)}"
                )
            )
        return lines

    @staticmethod
    def series_unit(point: SeriesPoint) -> str:
        begin, end = hour_label(point.begin), hour_label(point.end)
        if begin and end and end - begin == timedelta(hours=1):
            return "unit_hour"
        if begin and end and end - begin == timedelta(days=1):
            return "unit_day"
        return "unit_bucket"

    @staticmethod
    def bucket_label(begin: datetime, unit: str) -> str:
        return begin.strftime("%m-%d") if unit == "unit_day" else begin.strftime("%m-%d %H:%M")

    # whole report -----------------------------------------------------------------
    def build(self, alerts: List[Alert], results: List[AppResult]) -> Report:
        m, doc = self.m, self.doc
        firing = [a for a in alerts if not a.resolved]
        severity = max((a.severity for a in firing), key=SEVERITY_RANK.__getitem__, default="info")
        generated_at = _parse_iso(doc.generated_at)
        common = _common_window(results or doc.results)
        title = self.title(alerts, severity, common, generated_at.date() if generated_at else None)
        head: Tuple[str, ...] = (m.heading(title),) if m.title_in_body else ()
        link = self.details_link(results, common)
        if link is not None:
            head += (link,)  # in the head: truncation never drops it
        balance = self.balance()
        if balance is not None:
            head += (balance,)  # the account's line: one, never dropped

        alert_entries = tuple(self.alert(group[0]) if len(group) == 1 else self.group_alert(group)
                              for group in notice_groups(alerts))
        self.alerted_errors = {a.app_id for a in alerts if a.rule == "api_error" and not a.resolved
                               and a.app_id in self.error_apps}
        self.rate_alerts = {(a.app_id, a.rule) for a in alerts if not a.resolved and a.rule in RATE_RULES.values()}
        shown = {a.message for a in alerts}
        config = [a.message for a in alerts if a.rule == "config_error"]  # their line quotes the issue
        error_texts = [e for e in doc.errors if e not in shown and not any(e and c.endswith(e) for c in config)]
        errors = tuple(m.bullet(self.free_text(e)) for e in error_texts[:ERRORS_MAX])
        if len(error_texts) > ERRORS_MAX:
            errors += (m.bullet(self.tr("more_errors", n=len(error_texts) - ERRORS_MAX)),)

        show_window = common is None
        covered = {r.app_id for a in alerts if not a.resolved for r in account_apps(a, doc.results)}
        apps = tuple(self.app(r, show_window) for r in _app_order(results, alerts)
                     if r.app_id not in covered)  # named on the account-wide alert's line

        footer: List[str] = []
        stamp = _stamp(generated_at) if generated_at else m.escape(shorten(doc.generated_at, 40))
        if common is not None:
            footer.append(m.muted(f"{self.tr('window')}: {_window_text(common, m)} · {self.tr('generated')}: {stamp}"))
        else:
            footer.append(m.muted(f"{self.tr('generated')}: {stamp}"))
        legend = self.legend()
        if legend:
            footer.append(m.muted(legend))
        if any(r.stats is not None for r in results):  # late receipts change numbers, not errors
            footer.append(m.muted(self.tr("late_note")))
        counted = next((r.window.counted for r in results if r.window.counted is not None), None)
        if counted is not None and counted.hours:  # a part-hour zone: say which hours were counted
            zone = next(r.window.timezone for r in results if r.window.counted is not None)
            footer.append(m.muted(self.tr("approx_note", tz=m.escape(shorten(zone, 64)), hours=counted.hours,
                                          begin=counted.BeginTime, end=counted.EndTime)))
        return Report(title, severity, head, alert_entries, errors, apps, tuple(footer))

    def balance(self) -> Optional[str]:
        """`SMS balance: 638,732 messages left · about 36 days at 17,766 billed a day (last 7 days)`."""
        packages, m = self.doc.packages, self.m
        if packages is None:
            return None
        label = m.bold(self.tr("balance"))
        if packages.error is not None:
            return f"{label}: {self.tr('balance_error')} {self.code(packages.error.code)}"
        return f"{label}: {_balance_words(packages, self.lang)}"

    def send_line(self, result: AppResult) -> Optional[str]:
        send = result.send
        if send is None:
            return None
        return self.m.sub(self.tr("send_line", accepted=num(send.accepted), submitted=num(send.submitted),
                                  rate=self.pct(send.accept_rate), billed=num(send.billed)))

    def details_link(self, results: List[AppResult], window: Optional[WindowDoc]) -> Optional[str]:
        """One link for the message: the dashboard of the apps it shows, over its window."""
        if self.details is None or window is None or not results:
            return None
        url = self.details([r.app_id for r in results], window.begin, window.end)
        return self.m.link(self.tr("details"), url) if url else None

    def title(self, alerts: List[Alert], severity: str, window: Optional[WindowDoc], generated: Optional[date]) -> str:
        doc = self.doc
        if doc.checks is not None and doc.kind == "report":  # `doctor --send-test`: never read as a report
            failed = sum(1 for c in doc.checks if c.get("status") == "fail")
            return " · ".join([self.tr("doctor_test"), self.tr("doctor_test_failed", n=failed) if failed
                               else self.tr("doctor_test_ok")])
        product = self.tr("product_check" if doc.kind == "check" else "product")
        parts = [f"{TITLE_MARK[severity]} {product}"]
        firing = [a for a in alerts if not a.resolved]
        resolved = len(alerts) - len(firing)
        if firing:
            parts.append(self.tr("one_alert") if len(firing) == 1 else self.tr("n_alerts", n=len(firing)))
        elif doc.kind == "error":
            parts.append(self.tr("error_title"))
        elif not resolved:
            parts.append(self.tr("no_alerts"))
        if resolved:
            parts.append(self.tr("n_resolved", n=resolved))
        if window is not None:
            when = _title_window(window, generated, self.lang)
            if when:
                parts.append(when)
        return " · ".join(parts)


def _balance_words(packages: PackagesDoc, lang: str) -> str:
    """What is left and how long it lasts, in `lang` (numbers only: nothing untrusted)."""
    if packages.remaining is None:
        return t(lang, "balance_none")
    remaining = num(packages.remaining)
    if packages.daily_billed is None:
        return t(lang, "balance_unknown_rate", remaining=remaining)
    if packages.days_left is None:
        return t(lang, "balance_no_rate", remaining=remaining, n=packages.rate_days)
    return t(lang, "balance_line", remaining=remaining, days=f"{packages.days_left:g}",
             rate=num(round(packages.daily_billed)), n=packages.rate_days)


def balance_text(packages: PackagesDoc, lang: str) -> str:
    """The balance line as plain text (the dashboard escapes it itself)."""
    if packages.error is not None:
        return f"{t(lang, 'balance')}: {t(lang, 'balance_error')} {packages.error.code}"
    return f"{t(lang, 'balance')}: {_balance_words(packages, lang)}"


def alert_facts(alert: Alert, lang: str, thresholds: Thresholds, results: Sequence[AppResult] = (),
                markup: Optional[Markup] = None) -> Tuple[str, str]:
    """(who, what) of one alert for the dashboard, in `markup` (plain text by default): the chat
    line's own words in `lang`, whatever language the run that raised it wrote its `message` in.
    `who` is empty for an app's alert (the page names the app) and says `all 3 apps: …` for an
    account-wide one."""
    from sms_receipt_stats.render.i18n import normalize_lang

    doc = ResultDocument(kind="check", generated_at="", results=list(results))
    builder = _Builder(doc, markup or Markup(), normalize_lang(lang), thresholds)
    builder.other_languages = False
    who = "" if alert.app_id else builder.account_label(alert)
    what = builder.alert_what(alert)
    # a rate alert: its top failing codes, short (the page shows their meanings and countries by the app)
    for part in builder.receipts_parts(builder.result_of(alert), meanings=False)[:1]:
        what += f" · {part}"
    return who, what


def build_report(
    doc: ResultDocument, m: Markup, lang: str, thresholds: Thresholds, min_severity: str,
    details: Optional[DetailsLink] = None,
) -> Optional[Report]:
    chosen = select(doc, min_severity)
    if chosen is None:
        return None
    alerts, results = chosen
    return _Builder(doc, m, lang, thresholds, details).build(alerts, results)


def compose(report: Report, m: Markup, lang: str, n_alerts: int, n_apps: int) -> str:
    """The body with the first `n_alerts` alerts and `n_apps` apps, plus visible markers."""
    blocks: List[str] = []
    if report.head:
        blocks.append(m.join(report.head))
    if report.alerts:
        lines = [m.section(t(lang, "alerts")), *report.alerts[:n_alerts]]
        if n_alerts < len(report.alerts):
            lines.append(t(lang, "more_alerts", n=len(report.alerts) - n_alerts))
        blocks.append(m.join(lines))
    if report.errors:
        blocks.append(m.join([m.section(t(lang, "errors")), *report.errors]))
    blocks.extend(report.apps[:n_apps])
    if n_apps < len(report.apps):
        blocks.append(m.bold(t(lang, "more_apps", n=len(report.apps) - n_apps)))
    blocks.append(m.join(report.footer))
    return m.blank.join(blocks)


def _largest_fitting(count: int, size_of, limit: int) -> Optional[int]:
    """Largest k in [0, count) with size_of(k) <= limit (sizes grow with k), else None."""
    if size_of(0) > limit:
        return None
    lo, hi = 0, count - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size_of(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit(report: Report, m: Markup, lang: str, limit: int) -> Tuple[str, bool]:
    """The body within `limit` UTF-8 bytes: drop apps, then alerts, then cut bytes."""
    n_alerts, n_apps = len(report.alerts), len(report.apps)
    text = compose(report, m, lang, n_alerts, n_apps)
    if utf8_len(text) <= limit:
        return text, False

    def apps_size(k: int) -> int:
        return utf8_len(compose(report, m, lang, n_alerts, k))

    k = _largest_fitting(n_apps, apps_size, limit) if n_apps else None
    if k is not None:
        return compose(report, m, lang, n_alerts, k), True

    def alerts_size(j: int) -> int:
        return utf8_len(compose(report, m, lang, j, 0))

    j = _largest_fitting(n_alerts, alerts_size, limit) if n_alerts else None
    if j is not None:
        return compose(report, m, lang, j, 0), True

    # Last resort (tiny limit or huge fixed parts): a byte cut with a visible marker.
    marker = m.newline + t(lang, "truncated")
    body = compose(report, m, lang, 0, 0)
    room = limit - utf8_len(marker)
    if room <= 0:
        return cut_utf8(t(lang, "truncated"), limit), True
    return cut_utf8(body, room) + marker, True
