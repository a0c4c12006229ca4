"""The seam to the Tencent Cloud SDK: credentials, client profiles, and SDK errors.

Everything that imports `tencentcloud` goes through here, lazily, so that a job which
never calls the cloud (an HTTP /health probe, a config error) never pays for the import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from sms_receipt_stats.config import Endpoint, Settings, parse_endpoint

if TYPE_CHECKING:
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile

DEFAULT_TIMEOUT = 10

#: the product's code for an answer that cannot be right (impossible counters, not JSON, ...)
UPSTREAM_DATA_INVALID = "UpstreamDataInvalid"
#: network exceptions whose class names the SDK passes on as codes
_NETWORK_EXCEPTIONS = frozenset({
    "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "TimeoutError", "timeout",
    "ConnectionResetError", "ConnectionRefusedError", "ConnectionAbortedError", "BrokenPipeError",
    "RemoteDisconnected", "IncompleteRead", "ProtocolError", "ChunkedEncodingError", "ProxyError",
    "SSLError", "MaxRetryError", "NewConnectionError", "gaierror", "OSError",
})
#: other exception class names the SDK passes on as codes when it cannot read an answer
_DATA_EXCEPTIONS = frozenset({"JSONDecodeError", "ValidationError", "DecodeError"})

# The SDK dumps every request (X-TC-Token, Authorization) and response at DEBUG; a root
# logger at DEBUG would put the session token in the function's logs.
logging.getLogger("tencentcloud_sdk_common").setLevel(logging.INFO)


class MissingCredentials(RuntimeError):
    """No SecretId/SecretKey in the environment."""


@dataclass(frozen=True)
class CloudError(Exception):
    """An SDK failure reduced to what we need: code, message, request id."""

    code: str
    message: str
    request_id: Optional[str] = None
    #: the endpoint could not be reached at all (DNS, refused, connect timeout): no request was
    #: answered, so the calls after it will fail the same way (the dashboard stops there)
    unreachable: bool = False
    #: the call was cut at its time bound while the endpoint was still answering (a drip, a
    #: stall after the headers): the next call would most likely cost as long (`too_slow`)
    slow: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def build_credential(settings: Settings) -> Credential:
    from tencentcloud.common.credential import Credential

    if not settings.secret_id or settings.secret_key is None:
        raise MissingCredentials(
            "no credentials: set TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY (SCF execution role) "
            "or TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY"
        )
    token = settings.session_token.get_secret_value() if settings.session_token else None
    return Credential(settings.secret_id, settings.secret_key.get_secret_value(), token)


def build_profile(endpoint: Endpoint, timeout: float = DEFAULT_TIMEOUT) -> ClientProfile:
    """A profile pointing at `endpoint`, with the SDK's own region breaker off (we retry)."""
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(
        protocol=endpoint.scheme,
        endpoint=endpoint.host,
        reqTimeout=max(1, int(round(timeout))),
    )
    http.keepAlive = True
    profile = ClientProfile(httpProfile=http)
    profile.disable_region_breaker = True  # we do our own retry; the breaker would hide errors
    return profile


def endpoint_for(override: Optional[str], default_host: str) -> Endpoint:
    """An explicit `endpoint=` option, else the product's own public endpoint over https.

    Never SMS_ENDPOINT: that names the SMS API's host (e.g. the VPC endpoint
    sms.internal.tencentcloudapi.com), which does not serve another product's actions.
    """
    if override:
        return parse_endpoint(override)
    return Endpoint(host=default_host, scheme="https")


#: host-free reasons for what `requests` reports on our side of the wire; its own text names
#: the endpoint's host and port, which must stay out of error bodies, results and logs
_NETWORK_REASONS = (
    (("NameResolutionError", "Name or service not known", "nodename nor servname", "getaddrinfo",
      "Temporary failure in name resolution"), "the endpoint's host name could not be resolved (DNS)"),
    (("Connection refused", "ConnectionRefused"), "the endpoint refused the connection"),
    (("ConnectTimeout", "connect timeout"), "connecting to the endpoint timed out"),
    (("No route to host", "Network is unreachable"), "there is no network route to the endpoint"),
    (("timed out", "Timeout"), "the connection to the endpoint timed out"),
    (("SSL", "CERTIFICATE", "certificate"), "the TLS handshake with the endpoint failed"),
    (("Connection reset", "RemoteDisconnected", "Connection aborted"), "the endpoint closed the connection"),
)


#: the reasons above that mean no connection was made: the endpoint is unreachable
UNREACHABLE_REASONS = frozenset({
    "the endpoint's host name could not be resolved (DNS)", "the endpoint refused the connection",
    "connecting to the endpoint timed out", "there is no network route to the endpoint",
})
#: how an unreachable endpoint's errors begin, so every reader (page, chat, JSON) names it
UNREACHABLE = "endpoint unreachable"


def network_error(text: str, request_id: Optional[str] = None) -> CloudError:
    """`ClientNetworkError` with a host-free reason; "endpoint unreachable: ..." when no connection was made."""
    reason = network_reason(text)
    if reason in UNREACHABLE_REASONS:
        return CloudError("ClientNetworkError", f"{UNREACHABLE}: {reason}", request_id, unreachable=True)
    return CloudError("ClientNetworkError", reason, request_id)


def network_reason(text: str) -> str:
    """What went wrong on the wire, without the host, port or URL the transport's text contains."""
    for needles, reason in _NETWORK_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return "the endpoint could not be reached (network error)"


#: how every error of a call cut at its time bound begins (host-free), whatever the phase
TOO_SLOW = "the endpoint answered too slowly"


def too_slow(seconds: float, cause: str, connecting: bool) -> CloudError:
    """The error of a call abandoned after `seconds` (`cause`: "deadline" or "call limit").

    Still connecting (the TCP connection or its TLS handshake not complete): the endpoint is
    unreachable as far as this run can tell. Connected: it answers, too slowly to wait for.
    Transient either way (`ClientNetworkError`).
    """
    if connecting:
        return CloudError("ClientNetworkError", f"{UNREACHABLE}: {TOO_SLOW}: the connection (TLS handshake "
                                                f"included) was not complete after {seconds:.1f} s ({cause})",
                          unreachable=True)
    return CloudError("ClientNetworkError", f"{TOO_SLOW}: no complete answer after {seconds:.1f} s ({cause})",
                      slow=True)


class BoundedTransport:
    """The connections one SDK client opens, so that a call abandoned at its time bound can be cut.

    `retry.call_within` stops waiting for a call; this ends it: `abort` shuts down the sockets of
    the client's connections, so that a worker blocked on a dripping answer wakes up with an
    error and ends instead of reading on. A connection still in its TLS handshake is not
    reachable yet (the TLS layer owns its socket until it is done); it is shut the moment its
    handshake completes, and its own read timeout (the call's bound) ends a handshake that stalls.
    An aborted transport's client is never used again.
    """

    def __init__(self) -> None:
        import threading
        import weakref

        self._lock = threading.Lock()
        self._connections: weakref.WeakSet = weakref.WeakSet()
        self._connecting = 0
        self.aborted = False

    def install(self, client: Any) -> bool:
        """Mount the tracking adapter on the SDK client's `requests` session; False when the
        SDK's shape is not the one known (the call is still bounded, only not cut short)."""
        session = getattr(getattr(getattr(client, "request", None), "conn", None), "_session", None)
        if session is None or not hasattr(session, "mount"):
            return False
        self.mount(session)
        return True

    def mount(self, session: Any) -> None:
        """Track the connections a `requests.Session` opens from now on."""
        adapter = _tracking_adapter(self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    def opening(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            self._connecting += 1

    def opened(self, connection: Any, ok: bool) -> None:
        with self._lock:
            self._connecting -= 1
            aborted = self.aborted
        if ok and aborted:  # the call was abandoned while this connection was being made
            _shut(getattr(connection, "sock", None))
            raise ConnectionAbortedError("the call was abandoned at its time bound")

    def abort(self) -> bool:
        """Cut every connection of this transport; True when one was still connecting."""
        with self._lock:
            self.aborted = True
            connecting = self._connecting > 0
            connections = list(self._connections)
        for connection in connections:
            _shut(getattr(connection, "sock", None))
        return connecting


def _shut(sock: Any) -> None:
    """Shut a socket down both ways: a read blocked on it returns at once, every later one finds
    the end, and the worker that owns it closes it on its own error path. Never closed from here:
    a close under another thread's read (or TLS layer) could free its descriptor for reuse while
    that thread still holds the number. Never raises."""
    import contextlib
    import socket

    if sock is None:
        return
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


def _tracking_adapter(transport: BoundedTransport) -> Any:
    """A `requests` adapter whose urllib3 connections report to `transport` when they connect."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Tracking:
        def connect(self) -> None:
            transport.opening(self)
            ok = False
            try:
                super().connect()  # type: ignore[misc]
                ok = True
            finally:
                transport.opened(self, ok)

    class TrackedHTTP(Tracking, HTTPConnection):
        pass

    class TrackedHTTPS(Tracking, HTTPSConnection):
        pass

    class TrackedHTTPPool(HTTPConnectionPool):
        ConnectionCls = TrackedHTTP

    class TrackedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = TrackedHTTPS

    pools = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

    class TrackingAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = pools
            return manager

    return TrackingAdapter()


def _is_python_exception_name(code: str) -> bool:
    import builtins

    found = getattr(builtins, code, None)
    return isinstance(found, type) and issubclass(found, BaseException)


def to_cloud_error(exc: BaseException) -> CloudError:
    """Reduce any SDK/network exception to a CloudError with a code the catalogue knows.

    The SDK's own transport codes carry text that is not the API's: `ClientNetworkError` wraps
    the `requests` exception (host, port, URL), `ServerNetworkError` the raw body of a non-200
    answer (whatever a proxy says). Both are replaced by a host-free sentence.
    The SDK wraps what it did not expect as `TencentCloudSDKException(type(e).__name__, str(e))`;
    such a Python class name is never a code: a network failure becomes `ClientNetworkError`,
    anything else (an answer that is not JSON, lacks a field, ...) `UpstreamDataInvalid`, with
    the class name kept in the message.
    """
    code = getattr(exc, "code", None)
    request_id = getattr(exc, "requestId", None)
    if isinstance(code, str) and code:
        message = str(getattr(exc, "message", None) or "")
        if code == "ClientNetworkError" or code in _NETWORK_EXCEPTIONS:
            return network_error(f"{code}: {message}", request_id)
        if code == "ServerNetworkError":
            return CloudError(code, "the endpoint answered with a non-200 HTTP status", request_id)
        if code in _DATA_EXCEPTIONS or _is_python_exception_name(code):
            return CloudError(UPSTREAM_DATA_INVALID, f"the answer could not be read ({code})", request_id)
        return CloudError(code, message, request_id)
    if isinstance(exc, OSError):  # requests' exceptions are OSErrors too; their text names the endpoint
        return network_error(f"{type(exc).__name__}: {exc}")
    return CloudError(UPSTREAM_DATA_INVALID, f"the answer could not be read ({type(exc).__name__})")


def call_action(client: Any, action: str, params: dict) -> dict:
    """`CommonClient.call_json` wrapper returning the `Response` object or raising CloudError."""
    try:
        answer = client.call_json(action, params)
    except Exception as exc:  # the SDK wraps everything in TencentCloudSDKException
        raise to_cloud_error(exc) from None
    return answer.get("Response", answer) if isinstance(answer, dict) else {}


def common_client(service: str, version: str, settings: Settings, region: str, endpoint: Endpoint,
                  timeout: float = DEFAULT_TIMEOUT) -> Any:
    from tencentcloud.common.common_client import CommonClient

    return CommonClient(service, version, build_credential(settings), region,
                        profile=build_profile(endpoint, timeout))
