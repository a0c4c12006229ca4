"""One run, every queue (docs/sinks.md, *Queues*): `cmq://` (the data-flow fake), `ckafka://` (the
emulator's CKafka, the real SDK) and `amqp://` (the real RabbitMQ) get the same document with the same
message id, inside the body and as each queue's own key or property, valid against the queue schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.dev.schema import MESSAGE_FILE, SCHEMA_DIR
from support import APP_IDS_ENV, AmqpScratch, read_event

DATAHUB = "datahub-fan0ut01"
CONTEXT = {"request_id": "fanout", "time_limit_in_ms": 30_000}


def _schema() -> Any:
    return jsonschema.Draft202012Validator(json.loads(Path(SCHEMA_DIR / MESSAGE_FILE).read_text(encoding="utf-8")))


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "with a state store"])
def test_every_queue_gets_the_same_document_and_id(emulator: Emulator, tmp_path: Path, stateful: bool) -> None:
    with CmqDataflowFake(queues=("sms-reports",)) as cmq, AmqpScratch(tag="fanout") as broker:
        env: Dict[str, str] = {
            "TENCENTCLOUD_SECRETID": emulator.secret_id, "TENCENTCLOUD_SECRETKEY": emulator.secret_key,
            "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": APP_IDS_ENV,
            "NOTIFY_URLS": ",".join((f"cmq://queue/sms-reports#endpoint={cmq.address}",
                                     f"ckafka://{DATAHUB}#endpoint={emulator.endpoint}",
                                     broker.entry())),
        }
        if stateful:
            env["STATE_URL"] = f"sqlite:///{tmp_path}/state.db"
        doc = handle(read_event("timer_default"), CONTEXT, env=env)
        amqp_messages = broker.drain()

    assert [(d["sink"], d["ok"]) for d in doc["deliveries"]] == [("cmq_queue", True), ("ckafka", True),
                                                                 ("amqp", True)], doc["deliveries"]
    (cmq_message,) = cmq.messages
    (kafka_message,) = emulator.ckafka_messages
    ((_, properties, amqp_body),) = amqp_messages
    bodies: List[Dict[str, Any]] = [json.loads(cmq_message["body"]), json.loads(kafka_message["body"]),
                                    json.loads(amqp_body)]
    ids = {body["message_id"] for body in bodies}
    assert len(ids) == 1, "one run, one message id on every queue"
    (message_id,) = ids
    # and outside the body, where each queue keeps an id: CMQ's clientRequestId, the Kafka key, the AMQP property
    assert cmq_message["client_request_id"] == kafka_message["key"] == properties.message_id == message_id
    assert properties.content_type == "application/json" and properties.delivery_mode == 2
    for body in bodies:
        _schema().validate(body)
    assert bodies[0] == bodies[1] == bodies[2]
    expected = {k: v for k, v in doc.items() if k not in ("deliveries", "message_id", "pending")}
    assert {k: v for k, v in bodies[0].items() if k not in ("deliveries", "message_id", "pending")} == expected
    if stateful:  # the stored notice's id, kept by every retry from the outbox
        assert doc["message_id"] == message_id
    else:
        assert "message_id" not in doc
