"""The queue message contract (docs/sinks.md, *Queues*): one versioned JSON Schema, generated from the
models and kept current; what every queue sink sends validates against it, carries its dedup id, and
fits the queue's size cap by leaving out named parts, never silently."""

from __future__ import annotations

import json
from typing import Any, Dict

import jsonschema
import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev import schema
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.base import DeliveryError, queue_message
from support import APP_MARKETING, NOW, FakeFetcher, RecordingDeliver, base_env, fake_deps


def _report(**env: str) -> ResultDocument:
    """A real daily report with an hourly series and an alert, made by the handler on fake edges."""
    fetcher = FakeFetcher()
    fetcher.fail(APP_MARKETING, "InternalError.Timeout")
    deliver = RecordingDeliver()
    message = json.dumps({"job": "report", "window": "yesterday", "granularity": "hour"})
    handle({"Type": "Timer", "TriggerName": "daily", "Time": NOW.isoformat(), "Message": message}, None,
           env=base_env(**env), deps=fake_deps(fetcher=fetcher, deliver=deliver))
    (doc,) = deliver.docs
    return ResultDocument.model_validate(doc)


def _validator(name: str) -> Any:
    return jsonschema.Draft202012Validator(json.loads((schema.SCHEMA_DIR / name).read_text(encoding="utf-8")))


def test_the_checked_in_schemas_are_what_the_models_generate() -> None:
    assert schema.stale() == [], "run: python -m sms_receipt_stats.dev.schema --write"


def test_a_stale_schema_file_is_named(tmp_path: Any) -> None:
    assert schema.main(["--write", "--dir", str(tmp_path)]) == 0
    path = tmp_path / schema.MESSAGE_FILE
    path.write_text(path.read_text(encoding="utf-8").replace('"minLength": 1', '"minLength": 2'), encoding="utf-8")
    assert schema.stale(tmp_path) == [schema.MESSAGE_FILE]
    assert schema.main(["--check", "--dir", str(tmp_path)]) == 1


def test_a_report_as_a_queue_message_validates_and_carries_its_id_inside() -> None:
    doc = _report()
    assert doc.alerts and any(r.series for r in doc.results)
    message = queue_message(doc, max_bytes=None)
    body: Dict[str, Any] = json.loads(message.body)
    _validator(schema.MESSAGE_FILE).validate(body)
    _validator(schema.DOCUMENT_FILE).validate(body)
    assert body["message_id"] == message.message_id and message.message_id.startswith("msg_")
    assert "omitted" not in body
    # a stored document keeps its id (every outbox retry sends the same one)
    kept = queue_message(doc.model_copy(update={"message_id": "msg_kept"}), max_bytes=None)
    assert kept.message_id == json.loads(kept.body)["message_id"] == "msg_kept"


def test_the_queue_schema_refuses_a_message_without_an_id_or_of_another_contract() -> None:
    body = ResultDocument(generated_at="2026-11-25T09:00:00+08:00").to_json_dict()
    _validator(schema.DOCUMENT_FILE).validate(body)  # a stateless timer result may have no id
    with pytest.raises(jsonschema.ValidationError, match="message_id"):
        _validator(schema.MESSAGE_FILE).validate(body)
    with pytest.raises(jsonschema.ValidationError):
        _validator(schema.MESSAGE_FILE).validate({**body, "message_id": "msg_1", "schema": "sms-receipt-stats/v2"})


def test_over_the_cap_the_series_go_first_and_the_message_says_so() -> None:
    doc = _report().model_copy(update={"message_id": "msg_fixed"})
    whole = queue_message(doc, max_bytes=None)
    cap = whole.size - 1
    cut = queue_message(doc, max_bytes=cap)
    body = json.loads(cut.body)
    assert cut.size <= cap
    assert body["omitted"] == ["series"]
    assert all(r["series"] is None for r in body["results"])
    assert body["alerts"] == json.loads(whole.body)["alerts"]  # what consumers route on is kept whole
    assert cut.message_id == whole.message_id == "msg_fixed"
    _validator(schema.MESSAGE_FILE).validate(body)


def test_a_document_that_cannot_fit_is_a_permanent_failure_naming_both_sizes() -> None:
    doc = _report()
    with pytest.raises(DeliveryError) as caught:
        queue_message(doc, max_bytes=200)
    assert not caught.value.transient
    assert "exceeds the queue's message limit of 200 bytes" in caught.value.message
    assert "without series, request_ids, checks" in caught.value.message
