"""Read sms-receipt-stats result documents from a RabbitMQ / TDMQ for RabbitMQ queue.

    pip install pika jsonschema
    python examples/rabbitmq_consumer.py --url 'amqp://USER:PASS@HOST:5672/VHOST' --queue sms-reports

Each message is the result document as JSON (docs/sinks.md, "AMQP"). The consumer checks it
against the JSON Schema in docs/schema/result-document.v1.json, drops a second copy of a message
it has already handled (same `message_id`: the function re-sends a notice whose confirm it did not
get, so a copy can arrive twice), hands the document to `process`, and acks. A message that is not
a valid document is rejected without requeue (it goes to the queue's dead-letter exchange, if
any). The ids seen are kept in memory here: a real consumer keeps them where its work goes (a
unique key in its database), so a restart does not forget them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Set

import jsonschema
import pika

DEFAULT_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schema" / "result-document.v1.json"


class Consumer:
    """Validate, drop duplicates by message_id, process, ack."""

    def __init__(self, schema: Dict[str, Any], process: Callable[[Dict[str, Any]], None]):
        self.validator = jsonschema.Draft202012Validator(schema)
        self.process = process
        self.seen: Set[str] = set()
        self.counts = {"processed": 0, "duplicates": 0, "rejected": 0}

    def handle(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            doc = json.loads(body)
            self.validator.validate(doc)
        except (ValueError, jsonschema.ValidationError) as exc:
            print(f"rejected: not a result document ({type(exc).__name__})", file=sys.stderr)
            self.counts["rejected"] += 1
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        message_id = properties.message_id or doc.get("message_id")
        if message_id and message_id in self.seen:
            self.counts["duplicates"] += 1
            channel.basic_ack(method.delivery_tag)
            return
        self.process(doc)  # if this raises, the message is not acked and comes back
        if message_id:
            self.seen.add(message_id)
        self.counts["processed"] += 1
        channel.basic_ack(method.delivery_tag)


def consume(url: str, queue: str, consumer: Consumer, idle: Optional[float] = None) -> None:
    """Consume until interrupted, or until no message came for `idle` seconds."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=10)
        for method, properties, body in channel.consume(queue, inactivity_timeout=idle):
            if method is None:  # idle for `idle` seconds
                break
            consumer.handle(channel, method, properties, body)
        channel.cancel()
    finally:
        connection.close()


def show(doc: Dict[str, Any]) -> None:
    """The default work: one line per document."""
    apps = ", ".join(f"{r['app_id']} {r.get('rates') or {}}" for r in doc.get("results", []))
    print(f"{doc.get('message_id', '-')} {doc['kind']} {doc['generated_at']}: "
          f"{len(doc.get('alerts', []))} alert(s); {apps}")


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="amqp://USER:PASS@HOST:PORT/VHOST (amqps:// for TLS)")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--idle", type=float, default=None, help="stop after this many seconds without a message")
    args = parser.parse_args(argv)
    consumer = Consumer(json.loads(args.schema.read_text(encoding="utf-8")), show)
    with contextlib.suppress(KeyboardInterrupt):
        consume(args.url, args.queue, consumer, args.idle)
    print(json.dumps(consumer.counts), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
