"""amqp:// and amqps:// entries: what they parse to, what is refused, what a failure says (no broker here:
the broker itself is in tests/integration/test_amqp_sink.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any
from urllib.parse import urlsplit

import pytest
from pika import exceptions as pe
from pika.adapters.utils.connection_workflow import AMQPConnectorStackTimeout

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.base import DeliveryContext, DeliveryError
from sms_receipt_stats.notify.delivery import build_sinks
from sms_receipt_stats.notify.platforms import amqp
from sms_receipt_stats.notify.urls import parse_entry, parse_notify_urls

PASSWORD = "eyJrZXlJZC-amqp-pass-3f9a"
USER = "sms-robot-role"


def spec_of(entry: str) -> Any:
    return parse_entry(entry)


def test_an_entry_parses_to_kind_exchange_and_routing_key() -> None:
    spec = spec_of(f"amqp://{USER}:{PASSWORD}@amqp-xx.rabbitmq.example:5672/vh1#exchange=sms.events&routing_key=report")
    assert (spec.kind, spec.param("exchange"), spec.param("routing_key")) == ("amqp", "sms.events", "report")
    where = build_sinks([spec])[0].target()
    assert (where.host, where.port, where.vhost, where.user, where.password, where.tls) == (
        "amqp-xx.rabbitmq.example", 5672, "vh1", USER, PASSWORD, False)


@pytest.mark.parametrize(("url", "port", "vhost", "tls"), [
    ("amqp://u:p@h#exchange=e", 5672, "/", False),
    ("amqp://u:p@h/#exchange=e", 5672, "/", False),
    ("amqp://u:p@h/%2F#exchange=e", 5672, "/", False),
    ("amqps://u:p@h#exchange=e", 5671, "/", True),
    ("amqps://u:p@h:5999/amqp-1x2y%7Cprod#exchange=e", 5999, "amqp-1x2y|prod", True),
    ("amqp://u:p@h/a%2Fb#exchange=e", 5672, "a/b", False),
])
def test_port_vhost_and_tls_follow_the_url(url: str, port: int, vhost: str, tls: bool) -> None:
    where = build_sinks([spec_of(url)])[0].target()
    assert (where.port, where.vhost, where.tls) == (port, vhost, tls)


def test_user_and_password_are_percent_decoded() -> None:
    where = build_sinks([spec_of("amqp://role%40x:p%3Ass%2Fw@h#exchange=e")])[0].target()
    assert (where.user, where.password) == ("role@x", "p:ss/w")


@pytest.mark.parametrize(("entry", "says"), [
    ("amqp://h#exchange=e", "the user and password are missing"),
    ("amqp://u@h#exchange=e", "the user and password are missing"),
    ("amqp://u:p@/v#exchange=e", "the broker's host is missing"),
    ("amqp://u:p@h/a/b#exchange=e", "write a '/' inside it as %2F"),
    ("amqp://u:p@h/v?heartbeat=5#exchange=e", "takes no ?query"),
    ("amqp://u:p@h/v", "give exchange= (and routing_key=), or routing_key=QUEUE"),
    ("amqp://u:p@h/v#exchange=bad name", "exchange= takes letters, digits"),
    ("amqp://u:p@h/v#exchange=e&routing_key=" + "k" * 256, "routing_key= is longer than 255 bytes"),
    ("amqp://u:p@h:99999/v#exchange=e", "not a valid URL"),
    ("amqp://u:p@h/v#exchange=e&colour=grey", "unknown option"),
    ("webhook+amqp://u:p@h/v#exchange=e", "URL takes no kind prefix"),
])
def test_a_bad_entry_is_a_problem_naming_what_is_wrong(entry: str, says: str) -> None:
    specs, problems = parse_notify_urls(entry)
    assert specs == [] and len(problems) == 1 and says in problems[0]


def test_the_default_exchange_needs_the_queue_as_routing_key() -> None:
    spec = spec_of("amqp://u:p@h/v#routing_key=sms-reports")
    assert (spec.param("exchange"), spec.param("routing_key")) == ("", "sms-reports")


def test_neither_label_nor_problems_show_user_or_password() -> None:
    entry = f"amqp://{USER}:{PASSWORD}@broker.example/v#exchange=e"
    settings, issues = load_settings({"NOTIFY_URLS": f"{entry},{entry}&routing_key={'k' * 300}"})
    (spec,) = settings.sinks
    assert spec.label == "amqp#1(broker.example)"
    assert PASSWORD in settings.secret_values() and USER in settings.secret_values()
    shown = spec.label + repr(spec) + " ".join(str(i) for i in issues)
    assert PASSWORD not in shown and USER not in shown and "amqp://broker.example/…" in str(issues[0])


def test_parsing_an_amqp_entry_loads_no_client() -> None:
    """Cold start: pika is imported by an attempt that sends, never by NOTIFY_URLS parsing."""
    code = textwrap.dedent("""
        import sys
        from sms_receipt_stats.config import load_settings
        settings, issues = load_settings({"NOTIFY_URLS": "amqps://u:p@h/v#exchange=e&routing_key=k"})
        assert len(settings.sinks) == 1, issues
        print([m for m in ("pika", "ssl", "requests") if m in sys.modules])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_handler_loads_no_client() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, handler; print('pika' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def document(**fields: Any) -> ResultDocument:
    return ResultDocument(kind="report", generated_at="2026-11-24T09:00:03+08:00", **fields)


def test_the_message_carries_the_documents_id_inside_and_out() -> None:
    sink = build_sinks([spec_of("amqp://u:p@h/v#exchange=e")])[0]
    settings, _ = load_settings({})
    kept = sink.prepare(document(message_id="msg_kept"), settings)
    assert kept.message_id == "msg_kept" and '"message_id":"msg_kept"' in kept.body
    fresh = sink.prepare(document(), settings)
    assert fresh.message_id.startswith("msg_") and f'"message_id":"{fresh.message_id}"' in fresh.body


def test_a_document_over_the_cap_fails_permanently_before_connecting() -> None:
    sink = build_sinks([spec_of("amqp://u:p@203.0.113.1/v#exchange=e")])[0]
    settings, _ = load_settings({})
    big = sink.prepare(document(errors=["x" * (amqp.MAX_MESSAGE_BYTES + 1)]), settings)
    with pytest.raises(DeliveryError) as caught:
        sink.deliver(big, DeliveryContext(session=None, settings=settings))  # type: ignore[arg-type]
    assert not caught.value.transient
    assert f"exceeds the queue's message limit of {amqp.MAX_MESSAGE_BYTES} bytes" in caught.value.message


@pytest.mark.parametrize(("exc", "says", "transient"), [
    (pe.ProbableAuthenticationError("ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused'"),
     "refused the login", False),
    (pe.ProbableAuthenticationError("StreamLostError: ('Transport indicated EOF',)"),
     "connection lost during the AMQP handshake", True),
    (pe.ProbableAccessDeniedError(f"ConnectionClosedByBroker: (530) \"NOT_ALLOWED - access to vhost 'v' refused "
                                  f"for user '{USER}'\""), "refused the vhost", False),
    (pe.IncompatibleProtocolError("StreamLostError: ('Transport indicated EOF',)"), "before the AMQP handshake", True),
    (pe.AMQPConnectionError(ConnectionRefusedError(111, "Connection refused")), "cannot connect", True),
    (AMQPConnectorStackTimeout("Timeout during AMQP handshake 'h'/(2, 1, 6, '', ('1.2.3.4', 5672))"),
     "timed out connecting", True),
    (pe.ChannelClosedByBroker(404, "NOT_FOUND - no exchange 'e' in vhost 'v'"), "exchange 'e' does not exist", False),
    (pe.ChannelClosedByBroker(403, f"ACCESS_REFUSED - write access to exchange 'e' refused for user '{USER}'"),
     "may not publish to exchange 'e'", False),
    (pe.ChannelClosedByBroker(406, "PRECONDITION_FAILED - message size 999 is larger than max size 10"),
     "closed the channel (406 PRECONDITION_FAILED)", False),
    (pe.ConnectionClosedByBroker(320, "CONNECTION_FORCED - broker forced connection closure"),
     "closed the connection (320 CONNECTION_FORCED)", True),
    (pe.UnroutableError([]), "unroutable: the broker returned the message", False),
    (pe.ConnectionBlockedTimeout("Blocked connection timeout expired."), "held publishing blocked", True),
    (pe.NackError([]), "basic.nack", True),
    (pe.StreamLostError("Stream connection lost: ConnectionResetError(104, 'Connection reset by peer')"),
     "connection lost before the broker confirmed (StreamLostError)", True),
    (pe.AMQPHeartbeatTimeout("No activity or too many missed heartbeats in the last 60 seconds"),
     "connection lost before the broker confirmed", True),
    (ConnectionResetError(104, "reset"), "connection lost before the broker confirmed", True),
])
def test_each_failure_is_said_in_our_words(exc: BaseException, says: str, transient: bool) -> None:
    error = amqp.failure(exc, "e", "k")
    assert says in error.message and error.transient is transient
    assert USER not in error.message and "1.2.3.4" not in error.message


def test_a_certificate_that_does_not_verify_is_permanent_other_tls_failures_are_not() -> None:
    import ssl

    refused = amqp.failure(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert "certificate was not accepted" in refused.message and refused.transient is False
    broken = amqp.failure(ssl.SSLError(1, "wrong version number"))
    assert "TLS handshake failed" in broken.message and broken.transient is True


def test_a_connection_reset_while_pika_connects_is_transient_not_unexpected() -> None:
    # pika 1.4 raises ValueError("Expected connected socket, but getpeername() failed ...") when the
    # peer resets the TCP connection before pika looks at it (seen under load through a resetting proxy)
    def reset_while_connecting(parameters: Any) -> Any:
        raise ValueError("Expected connected socket, but getpeername() failed: error=OSError(107, "
                         "'Transport endpoint is not connected'); <socket.socket fd=8, laddr=('1.2.3.4', 5672)>")

    where = amqp.target(urlsplit(f"amqp://{USER}:pw@127.0.0.1:5672/%2F"))
    with pytest.raises(Exception) as raised, amqp.connection(where, 1.0, connect=reset_while_connecting):
        pass
    error = amqp.failure(raised.value, "e", "k")
    assert error.transient is True and "connection was lost while connecting" in error.message
    assert "1.2.3.4" not in error.message and USER not in error.message


def test_a_certificate_refused_while_pika_connects_stays_a_certificate_refusal() -> None:
    import ssl

    def refused(parameters: Any) -> Any:  # ssl.SSLCertVerificationError is a ValueError as well
        raise ssl.SSLCertVerificationError(1, "certificate verify failed")

    where = amqp.target(urlsplit(f"amqps://{USER}:pw@127.0.0.1:5671/%2F"))
    with pytest.raises(Exception) as raised, amqp.connection(where, 1.0, connect=refused):
        pass
    error = amqp.failure(raised.value, "e", "k")
    assert error.transient is False and "certificate was not accepted" in error.message
