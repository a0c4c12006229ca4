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
