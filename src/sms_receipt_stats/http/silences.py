"""`.../silences`: POST creates, GET lists, DELETE `.../silences/{id}` expires (docs/http-api.md, *Silences*).

Same auth as `/stats` (the route table checks it). Silences need the state store: without
STATE_URL, or with a store that does not answer, the answer is 503 and says which. Every
error body has the shape of the other HTTP errors, with a hint that points at the docs.

Scoped like `/stats` by API_ALLOWED_APP_IDS: a silence for an app outside it is refused (403),
is not listed and cannot be expired (404, as if absent). A silence without `app_id` applies to
every app, so only a function whose API_ALLOWED_APP_IDS covers every app of SMS_SDK_APP_IDS
(the default) may create or expire one; every caller sees it listed. Times are answered in
REPORT_TIMEZONE. See docs/state.md "Silences".
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Protocol

from sms_receipt_stats.events import http_response
from sms_receipt_stats.http.errors import ApiError
from sms_receipt_stats.http.router import Request, Route

if TYPE_CHECKING:
    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.state.silences import Silence, SilenceStore
    from sms_receipt_stats.state.store import GuardedStore

_HINT = "See docs/http-api.md, \"Silences\", for the body and the fields."


class SilenceDeps(Protocol):
    """What the silences routes need of a job's edges (`jobs.JobDeps` has it)."""

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def open_state(self) -> Callable[[Settings], Optional[GuardedStore]]: ...


def _error(status: int, code: str, message: str, category: str, hint: str, retryable: bool = False,
           headers: Optional[Dict[str, str]] = None) -> ApiError:
    return ApiError(status, code, message, headers, severity="warning", category=category, retryable=retryable,
                    hint=hint)


def _unavailable(problem: Optional[str]) -> ApiError:
    return _error(503, "ResourceUnavailable.StateStore", f"the state store did not answer ({problem})",
                  "transient", "Check that the function reaches STATE_URL (same VPC, port, password).",
                  retryable=True, headers={"Retry-After": "5"})


class _Scope:
    """Which silences this function's HTTP callers may see and change."""

    def __init__(self, settings: Settings):
        self.allowed = set(settings.api_allowed_app_ids)
        self.every_app = {a.app_id for a in settings.apps} <= self.allowed

    def visible(self, silence: Silence) -> bool:
        return silence.matchers.app_id is None or silence.matchers.app_id in self.allowed

    def check_change(self, silence: Silence) -> None:
        app_id = silence.matchers.app_id
        if app_id is not None and app_id not in self.allowed:
            raise _error(403, "UnauthorizedOperation.RequestPermissionDeny",
                         f"app_id {app_id} is not in API_ALLOWED_APP_IDS", "permission",
                         "Silence only the apps this function's API_ALLOWED_APP_IDS allows.")
        if app_id is None and not self.every_app:
            raise _error(403, "UnauthorizedOperation.RequestPermissionDeny",
                         "a silence without app_id applies to every app, and API_ALLOWED_APP_IDS does not "
                         "allow every app of SMS_SDK_APP_IDS", "permission",
                         "Give matchers.app_id, or use a function whose API_ALLOWED_APP_IDS covers every app.")


def _not_found() -> ApiError:
    return _error(404, "ResourceNotFound.Silence", "no silence with this id", "input",
                  "List the silences with GET .../silences.")


def _with_store(request: Request, answer: Callable[[SilenceStore, Any, _Scope], Dict[str, Any]]) -> Dict[str, Any]:
    """Open the state store (503 without one), answer, close it."""
    from sms_receipt_stats.state.silences import SilenceStore

    settings = request.settings
    state = request.deps.open_state(settings)
    if state is None:
        raise _error(503, "UnsupportedOperation.StateNotConfigured",
                     "silences need a state store and STATE_URL is not set", "input",
                     "Set STATE_URL (docs/state.md) to keep silences.")
    try:
        return answer(SilenceStore(state), state, _Scope(settings))
    finally:
        state.close()


def list_or_add(request: Request) -> Dict[str, Any]:
    """GET lists the silences this caller may see; POST adds one from the JSON body."""
    now = request.deps.now()
    tz = request.settings.timezone

    def answer(silences: SilenceStore, state: Any, scope: _Scope) -> Dict[str, Any]:
        if request.method == "GET":
            listed = silences.list()
            if not state.available:
                raise _unavailable(state.problem)
            return http_response(200, {"silences": [s.to_doc(now, tz) for s in listed if scope.visible(s)]})
        from sms_receipt_stats.http.params import json_body
        from sms_receipt_stats.state.silences import SilenceError, new_silence

        params = json_body(request.event)
        if not params:
            raise _error(400, "MissingParameter", "the body must be a JSON object with matchers, ends_at, "
                         "created_by and comment", "input", _HINT)
        try:
            silence = new_silence(params, now)
        except SilenceError as exc:
            raise _error(400, "InvalidParameterValue", str(exc), "input", _HINT) from None
        scope.check_change(silence)
        try:
            added = silences.add(silence, now)
        except SilenceError as exc:
            if not state.available:
                raise _unavailable(state.problem) from None
            raise _error(400, "InvalidParameterValue", str(exc), "input", _HINT) from None
        if not state.available:
            raise _unavailable(state.problem)
        return http_response(201, added.to_doc(now, tz))

    return _with_store(request, answer)


def expire(request: Request) -> Dict[str, Any]:
    """DELETE `.../silences/{id}`: the silence ends now."""
    from sms_receipt_stats.state.silences import SilenceError

    now = request.deps.now()
    tz = request.settings.timezone
    silence_id = request.path_params["id"]

    def answer(silences: SilenceStore, state: Any, scope: _Scope) -> Dict[str, Any]:
        found = silences.get(silence_id)
        if not state.available:
            raise _unavailable(state.problem)
        if found is None or not scope.visible(found):
            raise _not_found()  # another app's silence is answered as if it did not exist
        scope.check_change(found)
        try:
            ended = silences.expire(silence_id, now)
        except SilenceError as exc:
            raise _error(409, "FailedOperation.Conflict", str(exc), "transient", "Try again.",
                         retryable=True) from None
        if not state.available:
            raise _unavailable(state.problem)
        if ended is None:
            raise _not_found()
        return http_response(200, ended.to_doc(now, tz))

    return _with_store(request, answer)


ROUTES = (
    Route("silences", ("GET", "POST"), list_or_add),
    Route("silences/{id}", ("DELETE",), expire),
)
