"""Grouping of alert notices, Alertmanager's `group_by` (docs/alerts.md, *Grouping*).

The alerts a run sends that share the labels of `ALERT_GROUP_BY` (default `rule`) are one
notice: one chat entry naming every app, one `group` key on each of them in the result
document, so that a webhook or queue consumer sees which alerts went out together. With a
state store a group also resolves as one (`state/groups.py`): an app that recovers while others
of its group still fire is not notified on its own; the last one to recover sends one resolved
naming them all.

Cheap to import (it loads with the configuration on every event): the standard library only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

from sms_receipt_stats.variables import Variable, VariableError

if TYPE_CHECKING:
    from sms_receipt_stats.documents import Alert

#: the labels an alert can be grouped by, in the order a group key lists them
LABELS: Tuple[str, ...] = ("rule", "app_id", "severity", "code")
DEFAULT_GROUP_BY: Tuple[str, ...] = ("rule",)
#: what a group key shows for a label the alert does not have (an account-wide alert's app)
NONE = "-"


def _group_by(raw: str, variable: Variable, notes: List[str]) -> Tuple[str, ...]:
    labels: List[str] = []
    for part in raw.split(","):
        label = part.strip().lower()
        if label not in LABELS:  # never quoted: the value could be anything pasted here
            raise VariableError(f"is not a comma-separated list of {', '.join(LABELS)}")
        if label not in labels:
            labels.append(label)
    return tuple(label for label in LABELS if label in labels)


VARIABLES = (
    Variable("ALERT_GROUP_BY", "alert_group_by", "text", DEFAULT_GROUP_BY,
             "alerts of one run sharing these labels are one notice (rule, app_id, severity, code)",
             high=64, parse=_group_by, fallback="grouping by rule",
             expected="a comma-separated list of rule, app_id, severity, code"),
)


def group_labels(settings: Any) -> Tuple[str, ...]:
    """The labels of `ALERT_GROUP_BY` in `settings` (the default for settings built without it)."""
    labels = getattr(settings, "alert_group_by", None)
    return tuple(labels) if labels else DEFAULT_GROUP_BY


def separates_apps(labels: Sequence[str]) -> bool:
    return "app_id" in labels


def group_key(alert: Any, labels: Sequence[str]) -> str:
    """A short stable string naming `alert`'s group: its values of `labels`, joined by `/`
    (`success_rate_below`, `success_rate_below/warning`, `api_error/-/critical`)."""
    values = []
    for label in LABELS:
        if label in labels:
            value: Optional[str] = getattr(alert, label, None)
            values.append(str(value) if value else NONE)
    return "/".join(values) or NONE


def label_groups(alerts: Sequence[Alert], labels: Sequence[str]) -> None:
    """Set `group` on every alert this run sends (`notified` True, or None when stateless) that
    has none yet; an alert not sent has none."""
    for alert in alerts:
        if alert.group is None and alert.sent:
            alert.group = group_key(alert, labels)
        elif not alert.sent:
            alert.group = None
