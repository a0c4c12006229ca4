"""The route table of the HTTP routes, and the one place an HTTP event becomes an answer.

A route module of this package (`stats.py`, `dashboard.py`, `silences.py`, `health.py`)
declares `ROUTES = (Route(...), ...)`: the path it answers, as its last segments (`stats`,
`silences/{id}`), its methods, its handler and who may call it. `table()` imports every module
of the package that declares `ROUTES`, so a new route is one module here (plus its test), and
neither this module nor `app` changes. Routing matches path suffixes, so any stage or gateway
prefix works (`/release/stats`, `/api/sms/stats`); a path that two routes match goes to the one
with fewer `{placeholders}` (`/silences/stats` is `/stats`).

`dispatch` answers every event: 400 for a malformed one, 404 for no route, 405 (with `Allow`)
for a method the route does not take, the route's auth, then its handler; every `ApiError`
becomes the route's error answer (JSON from `errors.py`, unless the route has an `error_page`).
`HEAD` on a route that takes `GET` (and does not declare `HEAD` itself) is answered as the `GET`
is, status and headers, without a body (RFC 9110, 9.3.2): a probe or `curl -I` of `/dashboard`
gets what a browser would, not a 405.
Route modules load what their work needs when they run: a `/health` probe loads no query layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.config import Settings
from sms_receipt_stats.discovery import Lazy
from sms_receipt_stats.events import ApiGatewayEvent, safe_request_id
from sms_receipt_stats.http.errors import ApiError, error_response

logger = logging.getLogger("sms_receipt_stats.http")

AUTH_MODES = ("token", "none", "own")


@dataclass
class Request:
    """One HTTP request as a route handler sees it."""

    event: ApiGatewayEvent
    settings: Settings
    #: monotonic instant the answer must be ready by (None: no limit known)
    deadline: Optional[float]
    #: API Gateway's request id, else SCF's own; error bodies carry it
    request_id: Optional[str]
    #: the values of the route's `{placeholders}`
    path_params: Dict[str, str] = field(default_factory=dict)
    #: builds the job's edges (`jobs.JobDeps`) on first use: `/health` never builds them
    deps_factory: Callable[[], Any] = lambda: None
    _deps: Any = None

    @property
    def method(self) -> str:
        return (self.event.httpMethod or "").upper()

    @property
    def deps(self) -> Any:
        if self._deps is None:
            self._deps = self.deps_factory()
        return self._deps

    def open_state(self) -> Any:
        """The state store for this request (None: stateless), its whole share of the request's
        time budgeted from what is left (docs/state.md, *Bounds*): a slow store costs the answer
        its budget, then the route goes on without it."""
        store = self.deps.open_state(self.settings)
        if store is not None and self.deadline is not None:
            store.limit(self.deadline - self.deps.monotonic())
        return store


Handler = Callable[[Request], Dict[str, Any]]
ErrorPage = Callable[[ApiError, Request], Dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One entry of the route table."""

    #: the path's last segments, `/`-separated; `{name}` matches any one segment
    path: str
    #: the methods it answers; any other is a 405 naming these in `Allow`
    methods: Tuple[str, ...]
    handler: Handler
    #: "token": the bearer token of API_TOKENS is checked first; "none": anyone; "own": the handler checks
    auth: str = "token"
    #: how its errors are answered (an HTML page for a person); None = the JSON error body
    error_page: Optional[ErrorPage] = None

    @property
    def segments(self) -> Tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    @property
    def placeholders(self) -> int:
        return sum(1 for s in self.segments if s.startswith("{"))

    def match(self, parts: Sequence[str]) -> Optional[Dict[str, str]]:
        """The placeholder values when `parts` (a path's segments) ends with this route's path."""
        want = self.segments
        if len(parts) < len(want):
            return None
        values: Dict[str, str] = {}
        for pattern, part in zip(want, parts[len(parts) - len(want):]):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not part:
                    return None
                values[pattern[1:-1]] = part
            elif pattern != part:
                return None
        return values


@dataclass(frozen=True)
class Table:
    """Every route, most specific first."""

    routes: Tuple[Route, ...]

    def find(self, path: str) -> Tuple[Route, Dict[str, str]]:
        """The route for `path` and its placeholder values; ApiError 404 when none matches."""
        parts = (path or "").rstrip("/").split("/")
        for route in self.routes:
            values = route.match(parts)
            if values is not None:
                return route, values
        raise ApiError(404, "NotFound", "no such route: use " + ", ".join(
            f"{'/'.join(r.methods)} .../{r.path}" for r in sorted(self.routes, key=lambda r: r.path)))


def _check(route: Route, module: str) -> None:
    """A declaration that contradicts itself is a bug in the module: fail loudly, naming it."""
    problems = []
    if not route.methods or any(m != m.upper() or not m.isalpha() for m in route.methods):
        problems.append("methods must be upper-case HTTP methods")
    if route.auth not in AUTH_MODES:
        problems.append(f"auth must be one of {', '.join(AUTH_MODES)}")
    if any(not s for s in route.segments):
        problems.append("the path needs at least one segment and no empty one")
    if problems:
        raise RuntimeError(f"route module {module} ({route.path}): " + "; ".join(problems))


def discover(paths: Optional[Sequence[str]] = None) -> Table:
    """Import every route module of this package (in name order) and index their routes."""
    from sms_receipt_stats import http
    from sms_receipt_stats.discovery import declarations

    found: List[Route] = []
    seen: Dict[Tuple[str, ...], str] = {}
    for name, routes in declarations(http.__path__ if paths is None else paths, "sms_receipt_stats.http", "ROUTES",
                                     tuple):
        for route in routes:
            if not isinstance(route, Route):
                continue
            _check(route, name)
            shape = tuple("{}" if s.startswith("{") else s for s in route.segments)
            if shape in seen:
                raise RuntimeError(f"route .../{route.path} is declared by {seen[shape]} and {name}")
            seen[shape] = name
            found.append(route)
    # fewer placeholders first, then longer paths: a literal segment beats a `{placeholder}`
    found.sort(key=lambda r: (r.placeholders, -len(r.segments)))
    return Table(tuple(found))


_table: Lazy[Table] = Lazy(lambda: discover())


def table() -> Table:
    """The route table of this package's modules, built on first use."""
    return _table.get()


def reset() -> None:
    """Forget the table, so the next `table()` looks for modules again (tests)."""
    _table.reset()


def dispatch(raw: Mapping[str, Any], settings: Settings, deps_factory: Callable[[], Any],
             deadline: Optional[float], invocation_id: Any = None) -> Dict[str, Any]:
    """An HTTP event's answer: route it, check it, run its handler, and answer every ApiError.

    Error bodies carry API Gateway's request id, else (function URL, which has no
    requestContext) SCF's own request id of this invocation, which its logs are filed under.
    """
    event = ApiGatewayEvent.parse(raw)
    request_id = (event.request_id if event else None) or safe_request_id(invocation_id)
    route: Optional[Route] = None
    request: Optional[Request] = None
    # a HEAD is answered without a body, whatever the answer (a 404 or a 405 too)
    head = event is not None and (event.httpMethod or "").upper() == "HEAD"
    try:
        if event is None:
            raise ApiError(400, "InvalidParameter", "malformed HTTP event")
        route, values = table().find(event.path)
        if head and "HEAD" not in route.methods and "GET" in route.methods:
            event = event.model_copy(update={"httpMethod": "GET"})  # the handler answers a GET
        request = Request(event=event, settings=settings, deadline=deadline, request_id=request_id,
                          path_params=values, deps_factory=deps_factory)
        if request.method not in route.methods:
            allowed = ", ".join(_allowed(route))
            raise ApiError(405, "MethodNotAllowed", f"use {' or '.join(route.methods)} on .../{route.path}",
                           {"Allow": allowed})
        if route.auth == "token":
            from sms_receipt_stats.http.auth import authenticate

            authenticate(event, settings)
        return _without_body(route.handler(request)) if head else route.handler(request)
    except ApiError as exc:
        # an answer relayed from the SMS API (exc.error set) failed upstream, whatever its status
        upstream = exc.error is not None or exc.status >= 500
        logger.info("lookup failed upstream" if upstream else "lookup refused",
                    extra={"status": exc.status, "code": exc.code})
        if route is not None and request is not None and route.error_page is not None:
            answer = route.error_page(exc, request)
        else:
            answer = error_response(exc, request_id, settings.lang)
        return _without_body(answer) if head else answer


def _allowed(route: Route) -> Tuple[str, ...]:
    """The methods a 405's `Allow` names: the route's, and HEAD wherever GET is taken."""
    if "GET" in route.methods and "HEAD" not in route.methods:
        return tuple(sorted((*route.methods, "HEAD")))
    return route.methods


def _without_body(answer: Dict[str, Any]) -> Dict[str, Any]:
    """A HEAD's answer: the GET's status and headers, an empty body."""
    return {**answer, "body": "", "isBase64Encoded": False}
