"""Chat messages from a result document, one renderer per message format.

    msg = render_message(doc, "wecom", lang="zh", min_severity="warning")
    if msg is not None:
        post(msg.title, msg.text)

Every untrusted string (app names, upstream and alert messages) goes through `escape()`
for the flavor, so it can never add a link, a mention or a heading to a message. Flavors,
their markup and their size limits come from the platform modules (`sms_receipt_stats.notify.platforms`).
"""

from __future__ import annotations

from typing import Dict, Optional

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.markup import Markup
from sms_receipt_stats.notify.platforms import registry
from sms_receipt_stats.render.i18n import normalize_lang
from sms_receipt_stats.render.report import DetailsLink, RenderedMessage, build_report, fit
from sms_receipt_stats.vocabulary import SEVERITIES, SEVERITY_RANK

__all__ = ["FLAVORS", "MAX_BYTES", "DetailsLink", "RenderedMessage", "escape", "markup_for", "render_message"]

#: Every flavor a platform module declares (its markup's name), in module name order.
FLAVORS = tuple(registry().markups)

#: Body size limit per flavor in UTF-8 bytes: the platform's one limit, its source cited in its module.
MAX_BYTES: Dict[str, int] = {name: m.max_bytes for name, m in registry().markups.items()}


def markup_for(flavor: str) -> Markup:
    markups = registry().markups
    try:
        return markups[flavor]
    except KeyError:
        raise ValueError(f"unknown message flavor {flavor!r}; expected one of {', '.join(markups)}") from None


def escape(text: str, flavor: str) -> str:
    """Neutralise markup in untrusted text: links, mentions, tags, headings, newlines."""
    return markup_for(flavor).escape(text)


def render_message(
    doc: ResultDocument,
    flavor: str,
    *,
    lang: str = "en",
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen model, safe as a default
    min_severity: str = "info",
    max_bytes: Optional[int] = None,
    details: Optional[DetailsLink] = None,
) -> Optional[RenderedMessage]:
    """The message a sink at `min_severity` should send, or None when it has nothing to say.

    A "report" (or "lookup") at "info" always renders. Otherwise (and always for "check"
    and "error" documents) only alerts at or above `min_severity`, and the apps they
    concern, are shown; with no such alert the answer is None. With `details` (see
    `links.details_links`) the message links to the dashboard of the apps it shows.
    """
    m = markup_for(flavor)
    if min_severity not in SEVERITY_RANK:
        expected = ", ".join(SEVERITIES[:-1]) + " or " + SEVERITIES[-1]
        raise ValueError(f"unknown severity {min_severity!r}; expected {expected}")
    language = normalize_lang(lang)
    report = build_report(doc, m, language, thresholds, min_severity, details)
    if report is None:
        return None
    limit = m.max_bytes if max_bytes is None else max_bytes
    text, truncated = fit(report, m, language, limit)
    return RenderedMessage(title=report.title, text=text, severity=report.severity, truncated=truncated)
