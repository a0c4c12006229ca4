"""`.../silences`: POST creates, GET lists, DELETE `.../silences/{id}` expires (docs/http-api.md, *Silences*).

Same auth as `/stats` (the route table checks it). Silences need the state store: without
STATE_URL, or with a store that does not answer, the answer is 503 and says which. Every
error body has the shape of the other HTTP errors, with a hint that points at the docs.

Scoped like `/stats` by API_ALLOWED_APP_IDS: a silence for an app outside it is refused (403),
is not listed and cannot be expired (404, as if absent). A silence without `app_id` (a rule or a
code) is stored with the caller's allowed apps as its `scope` and silences those apps only,
whatever SMS_SDK_APP_IDS of this or another function sharing the store holds; a caller allowed
no app may create none (403). It is listed to callers allowed one of its apps, and expired by
those allowed all of them. A silence without a scope (the CLI's, or one stored before scopes)
applies to every app: every caller sees it, and only a function whose API_ALLOWED_APP_IDS covers
every app of its own non-empty SMS_SDK_APP_IDS may expire it. Times are answered in
REPORT_TIMEZONE. The matchers are judged as the CLI judges them (`state.silences.check_matchers`):
an app this function does not know is refused (400), an uncatalogued code is stored with a
`warnings` entry in the 201 answer. See docs/state.md "Silences".
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Protocol, Tuple

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


def _denied(message: str, hint: str) -> ApiError:
    return _error(403, "UnauthorizedOperation.RequestPermissionDeny", message, "permission", hint)


class _Scope:
    """Which silences this function's HTTP callers may see and change."""

    def __init__(self, settings: Settings):
        self.allowed = frozenset(settings.api_allowed_app_ids)
        configured = {a.app_id for a in settings.apps}
        # an unscoped silence binds every app of every function sharing the store: only a caller
        # allowed every app this function has (and it has some) may end one
        self.every_app = bool(self.allowed) and bool(configured) and configured <= self.allowed

    def visible(self, silence: Silence) -> bool:
        if silence.matchers.app_id is not None:
            return silence.matchers.app_id in self.allowed
        return silence.scope is None or not self.allowed.isdisjoint(silence.scope)

    def scope_of(self, silence: Silence) -> Optional[Tuple[str, ...]]:
        """The scope a new silence is stored with: the allowed apps when it names no app."""
        return tuple(sorted(self.allowed)) if silence.matchers.app_id is None else None

    def check_add(self, silence: Silence) -> None:
        app_id = silence.matchers.app_id
        if app_id is not None and app_id not in self.allowed:
            raise _denied(f"app_id {app_id} is not in API_ALLOWED_APP_IDS",
                          "Silence only the apps this function's API_ALLOWED_APP_IDS allows.")
        if app_id is None and not self.allowed:
            raise _denied("this function's API_ALLOWED_APP_IDS allows no app (unset, it is SMS_SDK_APP_IDS), "
                          "so a silence without app_id would silence no app of its own and is refused",
                          "Set API_ALLOWED_APP_IDS to the apps this function's callers may silence, or give "
                          "matchers.app_id.")

    def check_expire(self, silence: Silence) -> None:
        app_id = silence.matchers.app_id
        if app_id is not None:
            self.check_add(silence)
        elif silence.scope is not None and not self.allowed.issuperset(silence.scope):
            raise _denied("this silence applies to apps outside API_ALLOWED_APP_IDS",
                          "Expire it from a function allowed every app of its scope, or with the CLI.")
        elif silence.scope is None and not self.every_app:
            raise _denied("a silence without app_id or scope applies to every app, and API_ALLOWED_APP_IDS does "
                          "not allow every app of SMS_SDK_APP_IDS", "Expire it with the CLI (`sms-receipt-stats "
                          "silence expire`) or from a function whose API_ALLOWED_APP_IDS covers every app.")


def _not_found() -> ApiError:
    return _error(404, "ResourceNotFound.Silence", "no silence with this id", "input",
                  "List the silences with GET .../silences.")


def _with_store(request: Request, answer: Callable[[SilenceStore, Any, _Scope], Dict[str, Any]]) -> Dict[str, Any]:
    """Open the state store (503 without one), answer, close it."""
    from sms_receipt_stats.state.silences import SilenceStore

    settings = request.settings
    state = request.open_state()
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
        from sms_receipt_stats.state.silences import SilenceError, check_matchers, new_silence

        params = json_body(request.event)
        if not params:
            raise _error(400, "MissingParameter", "the body must be a JSON object with matchers, ends_at (or "
                         "duration), created_by and comment", "input", _HINT)
        try:
            silence = new_silence(params, now)
            scope.check_add(silence)
            refused, warnings = check_matchers(silence.matchers, request.settings)
            if refused:
                raise SilenceError("; ".join(refused))
            bound = scope.scope_of(silence)
            if bound is not None:
                silence = silence.model_copy(update={"scope": bound})
        except SilenceError as exc:
            raise _error(400, "InvalidParameterValue", str(exc), "input", _HINT) from None
        try:
            added = silences.add(silence, now)
        except SilenceError as exc:
            if not state.available:
                raise _unavailable(state.problem) from None
            raise _error(400, "InvalidParameterValue", str(exc), "input", _HINT) from None
        if not state.available:
            raise _unavailable(state.problem)
        doc = added.to_doc(now, tz)
        if warnings:
            doc["warnings"] = warnings
        return http_response(201, doc)

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
        scope.check_expire(found)
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
