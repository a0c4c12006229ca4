"""AMQP 0-9-1 (TDMQ for RabbitMQ, any RabbitMQ): the result document as one confirmed message.

`amqp://USER:PASS@HOST:PORT/VHOST#exchange=EX&routing_key=KEY` (`amqps://` for TLS, port 5671 by
default). Each attempt opens one connection, turns on publisher confirms and publishes once with
`mandatory`, `delivery_mode` 2 (persistent), `content_type` application/json and `message_id` (the
document's, kept by every outbox retry, so a consumer drops a second copy). The attempt succeeds
only when the broker confirms (basic.ack); a basic.return (no queue bound for the routing key), a
basic.nack, or a connection lost before the confirm is a failed delivery, kept by the outbox.

Without `exchange=` the message goes through the default exchange to the queue named by
`routing_key=` (legal AMQP; TDMQ's Python SDK page, cloud.tencent.com/document/product/1495/64677,
notes the same: no exchange, then the routing key names the queue). The VHOST is the URL path,
%-decoded (`%2F` for `/`, `%7C` for `|` in TDMQ's `cluster|vhost` names); none or `/` is `/`.

The client is pika (the one TDMQ's SDK pages use; bench/README.md "AMQP client" has the figures),
imported only when an attempt sends: parsing NOTIFY_URLS never loads it. Error texts are ours,
built from AMQP reply codes: never the broker's reply text (RabbitMQ's names the user), the URL,
the user or the password. docs/sinks.md "AMQP" is the user's page.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional
from urllib.parse import unquote

from sms_receipt_stats.notify.base import DeliveryContext, DeliveryError, QueueMessage, QueueSink
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from sms_receipt_stats.notify.urls import SinkSpec

KIND = "amqp"
DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}
#: RabbitMQ's default max_message_size is 128 MiB (rabbitmq.com/docs/limits); managed brokers accept
#: less, and TDMQ for RabbitMQ's Use Limits page (tencentcloud.com/document/product/1112/43063) does
#: not promise more. A result document is a few kB; 4 MiB means something is wrong, so it stops here,
#: named, rather than at a broker that closes the channel with 406.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: AMQP 0-9-1's exchange-name grammar; a shortstr, so at most 255 bytes (routing keys too)
_EXCHANGE = re.compile(r"^[A-Za-z0-9_.:-]*$")
SHORTSTR = 255
#: what closing the connection after a confirmed publish may take; the message is already safe
CLOSE_GRACE = 1.0
_REPLY = {200: "REPLY_SUCCESS", 311: "CONTENT_TOO_LARGE", 313: "NO_CONSUMERS", 320: "CONNECTION_FORCED",
          402: "INVALID_PATH", 403: "ACCESS_REFUSED", 404: "NOT_FOUND", 405: "RESOURCE_LOCKED",
          406: "PRECONDITION_FAILED", 501: "FRAME_ERROR", 502: "SYNTAX_ERROR", 503: "COMMAND_INVALID",
          504: "CHANNEL_ERROR", 505: "UNEXPECTED_FRAME", 506: "RESOURCE_ERROR", 530: "NOT_ALLOWED",
          540: "NOT_IMPLEMENTED", 541: "INTERNAL_ERROR"}
#: reply codes a retry in the same run cannot fix (configuration: rights, names, sizes)
_PERMANENT_CODES = frozenset({311, 402, 403, 404, 406, 530, 540})


@dataclass(frozen=True)
class Target:
    """Where an entry publishes: read from its URL (which the spec keeps private)."""

    host: str
    port: int
    vhost: str
    user: str = field(repr=False)
    password: str = field(repr=False)
    tls: bool


def target(parts: SplitResult) -> Target:
    """The broker of an `amqp(s)://` URL; a ValueError names the part that is wrong, never its value."""
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("expected an amqp:// or amqps:// URL")
    if not parts.hostname:
        raise ValueError("the broker's host is missing (amqp://USER:PASS@HOST:PORT/VHOST)")
    if parts.username is None or parts.password is None or not parts.username:
        raise ValueError("the user and password are missing (amqp://USER:PASS@HOST:PORT/VHOST, %-escaped)")
    if parts.query:
        raise ValueError("an amqp URL takes no ?query: options go after # (exchange=, routing_key=)")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if "/" in path:
        raise ValueError("the vhost is one path segment: write a '/' inside it as %2F")
    vhost = unquote(path) or "/"
    if len(vhost.encode("utf-8")) > SHORTSTR:
        raise ValueError(f"the vhost is longer than {SHORTSTR} bytes")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    return Target(host=parts.hostname, port=port, vhost=vhost, user=unquote(parts.username),
                  password=unquote(parts.password), tls=parts.scheme == "amqps")


def parse_entry(kind: Optional[str], parts: SplitResult, options: Dict[str, str]) -> Dict[str, Any]:
    """Checks an `amqp(s)://` entry; returns its exchange and routing key (they travel in `params`)."""
    target(parts)
    exchange = options.get("exchange", "")
    routing_key = options.get("routing_key", "")
    if not _EXCHANGE.match(exchange) or len(exchange) > SHORTSTR:
        raise ValueError(f"exchange= takes letters, digits, '-', '_', '.', ':' (at most {SHORTSTR})")
    if len(routing_key.encode("utf-8")) > SHORTSTR:
        raise ValueError(f"routing_key= is longer than {SHORTSTR} bytes")
    if not exchange and not routing_key:
        raise ValueError("give exchange= (and routing_key=), or routing_key=QUEUE for the default exchange")
    return {"kind": KIND, "exchange": exchange, "routing_key": routing_key}


class _Expired(Exception):
    """The attempt's time ran out while the broker had not answered (raised from pika's timer)."""


class _LostWhileConnecting(Exception):
    """pika gave up on a socket the peer had already reset (it raises a ValueError for that)."""


def _parameters(where: Target, timeout: float) -> Any:
    import logging

    import pika

    # pika logs the broker's reply texts (RabbitMQ's name the user); the sink reports failures itself
    logging.getLogger("pika").setLevel(logging.CRITICAL)

    ssl_options = None
    if where.tls:
        import ssl

        ssl_options = pika.SSLOptions(ssl.create_default_context(), server_hostname=where.host)
    return pika.ConnectionParameters(
        host=where.host, port=where.port, virtual_host=where.vhost,
        credentials=pika.PlainCredentials(where.user, where.password), ssl_options=ssl_options,
        connection_attempts=1, retry_delay=0, socket_timeout=timeout, stack_timeout=timeout,
        blocked_connection_timeout=timeout, client_properties={"connection_name": "sms-receipt-stats"})


@contextmanager
def connection(where: Target, timeout: float, connect: Optional[Callable[[Any], Any]] = None) -> Iterator[Any]:
    """An open pika BlockingConnection whose whole use is bounded by `timeout` seconds: connecting
    (TCP, TLS, AMQP handshake) by pika's own timeouts, then a timer that raises `_Expired` inside
    whatever call is waiting on the broker. Closed on the way out: politely when the broker still
    answers, else the socket is dropped."""
    import pika

    parameters = _parameters(where, timeout)
    started = time.monotonic()
    try:
        conn = (connect or pika.BlockingConnection)(parameters)
    except ValueError as exc:
        if type(exc) is not ValueError:  # ssl's certificate errors are ValueErrors too: said as such
            raise
        raise _LostWhileConnecting() from exc  # our parameters are valid: pika met a socket reset under it
    left = max(0.05, timeout - (time.monotonic() - started))
    # on the I/O loop itself: BlockingConnection.call_later only fires inside process_data_events,
    # never while a channel call (confirm_delivery, basic_publish) waits for the broker
    loop = conn._impl.ioloop
    timer = loop.call_later(left, _raise_expired)
    expired = False
    try:
        yield conn
    except _Expired:
        expired = True
        raise
    finally:
        _close(conn, loop, timer, polite=not expired)


def _close(conn: Any, loop: Any, timer: Any, polite: bool) -> None:
    """Close without waiting on a broker that stopped answering (never raises)."""
    with suppress(Exception):
        loop.remove_timeout(timer)
    if polite and conn.is_open:
        grace = loop.call_later(CLOSE_GRACE, _raise_expired)
        try:
            conn.close()
            return
        except Exception:
            pass
        finally:
            with suppress(Exception):
                loop.remove_timeout(grace)
    try:  # drop the socket: pika 1.4's transport abort (there is no public way to abandon a blocking
        # connection), then let the loop run the abort's own callbacks, which close the socket
        conn._impl._transport.abort()
        for _ in range(3):
            if conn.is_closed:
                break
            loop.poll()
            loop.process_timeouts()
    except Exception:
        pass


def _raise_expired() -> None:
    raise _Expired()


def failure(exc: BaseException, exchange: str = "", routing_key: str = "") -> DeliveryError:
    """A pika/socket failure as a DeliveryError in our words (no broker text: it may name the user)."""
    import ssl

    from pika import exceptions as pe

    ex = f"exchange '{exchange}'" if exchange else "the default exchange"
    if isinstance(exc, _Expired):
        return DeliveryError("timed out waiting for the broker", transient=True)
    if isinstance(exc, _LostWhileConnecting):
        return DeliveryError("the connection was lost while connecting (reset by the peer)", transient=True)
    if isinstance(exc, (pe.ProbableAuthenticationError, pe.ProbableAccessDeniedError, pe.AuthenticationError)):
        # pika's guess from the stage the connection ended in; only the broker's own close is an answer
        said = str(exc.args[0]) if exc.args else ""
        if isinstance(exc, pe.AuthenticationError) or said.startswith("ConnectionClosedByBroker: (403)"):
            return DeliveryError("the broker refused the login (ACCESS_REFUSED): check the user and password",
                                 transient=False)
        if said.startswith("ConnectionClosedByBroker: (530)"):
            return DeliveryError("the broker refused the vhost (NOT_ALLOWED): check that it exists and that the "
                                 "user may use it", transient=False)
        return DeliveryError("connection lost during the AMQP handshake", transient=True)
    if isinstance(exc, pe.IncompatibleProtocolError):
        return DeliveryError("the connection closed before the AMQP handshake (is this an AMQP 0-9-1 port?)",
                             transient=True)
    if isinstance(exc, pe.UnroutableError):
        where = f"routing key '{routing_key}'" if routing_key else "an empty routing key"
        return DeliveryError(f"unroutable: the broker returned the message, no queue is bound to {ex} for {where}",
                             transient=False)
    if isinstance(exc, pe.NackError):
        return DeliveryError("the broker refused the message (basic.nack)", transient=True)
    if isinstance(exc, pe.ChannelClosedByBroker):
        code = exc.reply_code
        if code == 404:
            return DeliveryError(f"{ex} does not exist in the vhost (404 NOT_FOUND)", transient=False)
        if code == 403:
            return DeliveryError(f"the user may not publish to {ex} (403 ACCESS_REFUSED)", transient=False)
        return DeliveryError(f"the broker closed the channel ({_code(code)})", transient=code not in _PERMANENT_CODES)
    if isinstance(exc, pe.ConnectionClosedByBroker):
        code = exc.reply_code
        return DeliveryError(f"the broker closed the connection ({_code(code)})",
                             transient=code not in _PERMANENT_CODES)
    if isinstance(exc, pe.ConnectionBlockedTimeout):
        return DeliveryError("the broker held publishing blocked (a resource alarm) for the whole attempt",
                             transient=True)
    if isinstance(exc, pe.AMQPConnectionError) and not isinstance(exc, (pe.StreamLostError,
                                                                         pe.AMQPHeartbeatTimeout)):
        cause = _cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return DeliveryError("TLS: the broker's certificate was not accepted", transient=False)
        return DeliveryError(f"cannot connect to the broker ({type(cause).__name__})", transient=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError("TLS: the broker's certificate was not accepted", transient=False)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS handshake failed ({type(exc).__name__})", transient=True)
    if isinstance(exc, (pe.AMQPError, OSError)):
        return DeliveryError(f"connection lost before the broker confirmed ({type(exc).__name__})", transient=True)
    from pika.adapters.utils import connection_workflow as cw

    if isinstance(exc, cw.AMQPConnectorStackTimeout):
        return DeliveryError("timed out connecting to the broker", transient=True)
    if isinstance(exc, cw.AMQPConnectorException):
        return DeliveryError(f"cannot connect to the broker ({type(exc).__name__})", transient=True)
    return DeliveryError(f"unexpected {type(exc).__name__}", transient=False)


def _code(code: Any) -> str:
    return f"{code} {_REPLY[code]}" if code in _REPLY else str(code)


def _cause(exc: BaseException) -> BaseException:
    """The innermost exception pika wrapped in `exc.args` (connect errors nest two deep)."""
    seen = 0
    while seen < 5 and exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
        seen += 1
    return exc


class AmqpSink(QueueSink):
    kind = KIND

    @property
    def exchange(self) -> str:
        return str(self.spec.param("exchange", ""))

    @property
    def routing_key(self) -> str:
        return str(self.spec.param("routing_key", ""))

    def target(self) -> Target:
        from urllib.parse import urlsplit

        return target(urlsplit(self.spec.url))

    def max_message_bytes(self) -> Optional[int]:
        return MAX_MESSAGE_BYTES

    def publish(self, message: QueueMessage, ctx: DeliveryContext) -> None:
        try:
            where = self.target()
        except ValueError as exc:  # parsed before; kept for a spec built by hand
            raise DeliveryError(str(exc), transient=False) from None
        publish(where, self.exchange, self.routing_key, message, ctx.timeout)


def publish(where: Target, exchange: str, routing_key: str, message: QueueMessage, timeout: float) -> None:
    """One confirmed, mandatory, persistent publish on a connection of its own, within `timeout`."""
    import pika

    confirmed = False
    try:
        with connection(where, timeout) as conn:
            channel = conn.channel()
            channel.confirm_delivery()
            properties = pika.BasicProperties(content_type="application/json", content_encoding="utf-8",
                                              delivery_mode=2, message_id=message.message_id,
                                              timestamp=int(time.time()), type=message.kind,
                                              app_id="sms-receipt-stats")
            channel.basic_publish(exchange, routing_key, message.body.encode("utf-8"), properties, mandatory=True)
            confirmed = True  # basic_publish returned: the broker acked (a return or nack raised)
    except Exception as exc:
        if confirmed:
            return  # the broker has it; only the goodbye failed
        raise failure(exc, exchange, routing_key) from None


def probe(spec: SinkSpec, timeout: float) -> Optional[str]:
    """What doctor checks without sending: the broker answers, takes the login and the vhost, and
    the exchange exists (a passive declare). None when all is well, else what failed (our words)."""
    from urllib.parse import urlsplit

    exchange = str(spec.param("exchange", ""))
    try:
        where = target(urlsplit(spec.url))
        with connection(where, timeout) as conn:
            if exchange:
                conn.channel().exchange_declare(exchange, passive=True)
    except ValueError as exc:
        return str(exc)
    except Exception as exc:
        return failure(exc, exchange).message
    return None


PLATFORM = Platform(
    names={KIND: "AMQP"},
    max_bytes=MAX_MESSAGE_BYTES,
    sinks={KIND: AmqpSink},
    scheme="amqp",
    schemes=("amqps",),
    form="amqp(s)://USER:PASS@HOST[:PORT]/VHOST",
    options=("exchange", "routing_key"),
    parse=parse_entry,
)
