"""A timer run with a state store, step by step (called by `jobs.run_timer_job`).

begin (claim the run, or replay it; `settle` answers a replay or a busy duplicate) → trends
(baselines through the settled cache) → evidence (the hours earlier runs saw,
`state/evidence.py`) → track (alert lifecycle) → deliver (through the outbox: earlier
undelivered notices first) → complete (store the document for duplicates). Any store failure along the
way leaves the run stateless from that point on, with one `state_unavailable` warning, and
never costs the report.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

from sms_receipt_stats.config import App, Settings
from sms_receipt_stats.documents import AppResult, Delivery, ResultDocument
from sms_receipt_stats.query import Querier
from sms_receipt_stats.state.store import GuardedStore, Store, StoreError, backends, budget_for
from sms_receipt_stats.windows import Window

if TYPE_CHECKING:
    from sms_receipt_stats.rules import Assessment, Evidence

log = logging.getLogger("sms_receipt_stats.state")


Deliver = Callable[[ResultDocument, Settings, Optional[float]], List[Delivery]]


def busy_message(until: Optional[str]) -> str:
    """The `errors` entry of a duplicate that found a live claim: not a success, and why.

    The handler returns it normally (it never raises). What SCF does with that, per Tencent Cloud's
    "Error Types and Retry Policies" (https://www.tencentcloud.com/document/product/583/39851): a
    timer trigger invokes asynchronously; an execution error (the code raises, the invocation
    times out) is retried by the platform as the function's async retry configuration says
    (`GetFunctionEventInvokeConfig`: RetryNum, MsgTTL), a normal return is a success and is not
    retried. So this copy is not retried, and needs not be: the live owner does the work, and an
    owner that dies fails its own invocation, which SCF retries; a retry after the owner's
    deadline takes the claim over.
    """
    when = f" until {until}" if until is not None else ""
    return ("duplicate delivery: another invocation holds this timer run (trigger, job, window, apps)"
            f"{when}; this copy queried and sent nothing. If that invocation died, the next delivery "
            "after that time takes the run over (docs/state.md \"Idempotent runs and claims\")")


def open_store(url: str, prefix: str) -> Store:
    """The back end for a STATE_URL already checked by `config.parse_state_url`, found by its
    scheme among the modules that declare one (`state/*_store.py`, loaded on first use)."""
    scheme = url.split(":", 1)[0].lower()
    backend = backends().get(scheme)
    if backend is None:
        raise StoreError(f"unsupported state store scheme {scheme!r}")
    return backend.open(url, prefix)


def open_state(settings: Settings, time_limit: Optional[float] = None) -> Optional[GuardedStore]:
    """The guarded store of STATE_URL, opened on first use; None when the function is stateless.
    An invocation's store gets a time budget, a share of its `time_limit` (`store.budget_for`;
    a timer run sets it from the invocation's limit when it begins); without one (the CLI) none."""
    if settings.state_url is None:
        return None
    url, prefix = settings.state_url.get_secret_value(), settings.state_prefix
    budget = budget_for(time_limit) if time_limit is not None else None
    return GuardedStore(opener=lambda: open_store(url, prefix), budget=budget)


class StatefulRun:
    def __init__(self, state: GuardedStore, settings: Settings, now: datetime):
        self.state = state
        self.settings = settings
        self.now = now
        self.key: Optional[str] = None
        self._warned = False

    def begin(self, trigger_name: Optional[str], job: str, window: Optional[Window], apps: Sequence[App],
              granularity: str, claim_ttl: Optional[float], doc: ResultDocument) -> Optional[ResultDocument]:
        """Claim the run; a document to answer right away (a replay, a busy duplicate) or None to go on.

        `claim_ttl` is the invocation's time limit (None: unknown); the store's share of it is
        budgeted from here on (docs/state.md "Bounds")."""
        self.state.limit(claim_ttl)
        if window is None or not apps:
            return None  # a run that cannot query (bad Message or config) is not worth deduplicating
        from sms_receipt_stats.state.runs import DEFAULT_CLAIM_TTL, claim_run, run_key

        key = run_key(trigger_name, job, window, [a.app_id for a in apps], granularity)
        claim = claim_run(self.state, key, claim_ttl or DEFAULT_CLAIM_TTL, self.now.timestamp())
        if claim.outcome == "claimed":
            if claim.took_over:
                log.warning("timer run taken over from an invocation past its deadline", extra={"job": job})
            self.key = key
            from sms_receipt_stats.notify.base import new_message_id

            doc.message_id = new_message_id()  # kept by every retry of this notice (outbox)
            return None
        if claim.outcome == "replay" and claim.document is not None:
            log.info("timer run replayed", extra={"job": job})
            replayed: ResultDocument = claim.document  # validated by claim_run
            replayed.replayed = True
            return replayed
        if claim.outcome == "busy":
            log.info("timer run already in progress elsewhere", extra={"job": job})
            until = None
            if claim.until is not None:
                from sms_receipt_stats.measure import generated_at

                until = generated_at(datetime.fromtimestamp(claim.until, timezone.utc), self.settings.timezone)
            doc.errors.append(busy_message(until))
            return doc
        return None  # unavailable: go on stateless

    def settle(self, early: ResultDocument, deliver: Deliver, deadline: Optional[float]) -> ResultDocument:
        """Answer a replay or a busy duplicate. A replay first retries what the outbox still holds
        (the run it replays may have failed a sink): then its deliveries are this invocation's."""
        try:
            if early.replayed and self.settings.sinks and self.state.available:
                from sms_receipt_stats.state.outbox import Outbox

                outbox = Outbox(self.state, self.settings, self.now)
                retried = outbox.deliver(None, deliver, deadline)
                if retried:
                    early.deliveries = retried
                if self.state.available:
                    early.pending = outbox.pending()
            return early
        finally:
            self.state.close()

    def deliver(self, outgoing: ResultDocument, doc: ResultDocument, deliver: Deliver,
                deadline: Optional[float]) -> List[Delivery]:
        """Deliver through the outbox (earlier notices first); `doc.pending` lists what is still due."""
        if not self.settings.sinks or not self.state.available:
            return deliver(outgoing, self.settings, deadline)
        from sms_receipt_stats.state.outbox import Outbox

        outbox = Outbox(self.state, self.settings, self.now)
        deliveries = outbox.deliver(outgoing, deliver, deadline)
        if self.state.available:
            doc.pending = outbox.pending()
        return deliveries

    def trends(self, results: List[AppResult], window: Window, querier: Querier) -> List[str]:
        if not self.state.available:
            return []
        from sms_receipt_stats.state.baseline import attach_trends

        return attach_trends(results, window, querier, self.settings.thresholds, self.state, self.settings.lang)

    def evidence(self, results: List[AppResult], window: Window, querier: Querier) -> Optional[Dict[str, Evidence]]:
        """Each app's evidence with the hours earlier runs saw; None once the store is gone."""
        if not self.state.available:
            return None
        from sms_receipt_stats.state.evidence import gather

        found = gather(self.state, results, window, querier, self.now, self.settings.thresholds.receipt_delay)
        return found if self.state.available else None

    def track(self, doc: ResultDocument, assessment: Assessment) -> None:
        """Lifecycle fields on every alert, held and resolved ones added; or stateless plus a warning."""
        if self.state.available:
            from sms_receipt_stats.grouping import group_labels
            from sms_receipt_stats.state.alerts import track_alerts

            clear = assessment.clear | {(None, "config_error")}  # every timer run checks the configuration
            tracked = track_alerts(self.state, doc.alerts, clear, self.now,
                                   repeat=timedelta(seconds=self.settings.repeat_interval),
                                   tz=self.settings.timezone, lang=self.settings.lang, pending=assessment.pending,
                                   group_by=group_labels(self.settings))
            if tracked is not None:
                doc.alerts = tracked
        self._warn(doc)

    def _warn(self, doc: ResultDocument) -> None:
        if self.state.problem is not None and not self._warned:
            from sms_receipt_stats.rules import state_alert

            self._warned = True
            doc.alerts.append(state_alert(self.state.problem, self.settings.lang))

    def complete(self, doc: ResultDocument) -> None:
        """Keep the document for duplicates of this run (secrets masked), then let go of the store."""
        try:
            if self.key is not None and self.state.available:
                from sms_receipt_stats.redaction import prepare, redact
                from sms_receipt_stats.state.runs import complete_run

                secrets = prepare(self.settings.secret_values())
                complete_run(self.state, self.key, redact(doc.to_json_dict(), secrets) if secrets
                             else doc.to_json_dict())
            self._warn(doc)
        finally:
            self.state.close()

    def abort(self) -> None:
        """The run failed before it finished: give the claim back so a retry can run."""
        try:
            if self.key is not None:
                from sms_receipt_stats.state.runs import release_run

                release_run(self.state, self.key)
        finally:
            self.state.close()
