"""The SDK's transport errors reach results, bodies and logs without the endpoint's host or port.

`tencentcloud-sdk-python-common` raises `ClientNetworkError` with `str()` of the `requests`
exception (it names host, port and URL) and `ServerNetworkError` with the raw body of a non-200
answer; `sdk.to_cloud_error` keeps the code and replaces the text by a host-free reason.
"""

from __future__ import annotations

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sms_receipt_stats.sdk import to_cloud_error

HOST, PORT = "sms.internal.example.com", "8443"
POOL = f"HTTPSConnectionPool(host='{HOST}', port={PORT}): Max retries exceeded with url: / (Caused by "


@pytest.mark.parametrize(("transport_text", "reason"), [
    (POOL + "NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new "
     "connection: [Errno 111] Connection refused'))", "endpoint unreachable: the endpoint refused the connection"),
    (POOL + f"NameResolutionError(\"<urllib3.connection.HTTPSConnection object>: Failed to resolve '{HOST}' "
     "([Errno -2] Name or service not known)\"))",
     "endpoint unreachable: the endpoint's host name could not be resolved (DNS)"),
    (f"HTTPSConnectionPool(host='{HOST}', port={PORT}): Read timed out. (read timeout=10)",
     "the connection to the endpoint timed out"),
    (POOL + "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]')))",
     "the TLS handshake with the endpoint failed"),
    (POOL + "ProtocolError('Connection aborted.', RemoteDisconnected('Remote end closed connection'))",
     "the endpoint closed the connection"),
    (f"something new about {HOST}:{PORT}", "the endpoint could not be reached (network error)"),
])
def test_client_network_error_keeps_its_code_and_loses_the_host(transport_text: str, reason: str) -> None:
    error = to_cloud_error(TencentCloudSDKException("ClientNetworkError", transport_text))
    assert (error.code, error.message, error.request_id) == ("ClientNetworkError", reason, None)
    assert HOST not in str(error) and PORT not in str(error)


def test_server_network_error_drops_the_proxy_page() -> None:
    page = f"<html><body>502 Bad Gateway from {HOST}:{PORT}</body></html>"
    error = to_cloud_error(TencentCloudSDKException("ServerNetworkError", page))
    assert error.code == "ServerNetworkError"
    assert error.message == "the endpoint answered with a non-200 HTTP status"


def test_api_errors_keep_the_api_message_and_request_id() -> None:
    error = to_cloud_error(TencentCloudSDKException("FailedOperation.JsonParseFail", "bad json", "req-1"))
    assert (error.code, error.message, error.request_id) == ("FailedOperation.JsonParseFail", "bad json", "req-1")


def test_a_network_exception_without_a_code_says_what_happened_without_the_host() -> None:
    error = to_cloud_error(OSError(f"cannot connect to {HOST}:{PORT}"))
    assert (error.code, error.message) == ("ClientNetworkError", "the endpoint could not be reached (network error)")
    refused = to_cloud_error(ConnectionRefusedError(f"{HOST}:{PORT} Connection refused"))
    assert refused.message == "endpoint unreachable: the endpoint refused the connection"
    assert HOST not in refused.message and str(PORT) not in refused.message
