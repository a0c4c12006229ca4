"""An SCF function triggered by CKafka: reads sms-receipt-stats messages, checks each against the
message contract, and drops the copies of a message it has already handled.

What arrives (docs/sinks.md, *CKafka*): a `ckafka://` sink sends each result document as one
message through CKafka's HTTP access layer, its key the document's `message_id`. SCF's CKafka
trigger (Tencent Cloud docs, product 583 page 17530) pulls from the topic and invokes the function
synchronously with a batch of 1 to "maximum messages" records, at most 6 MB per event:

    {"Records": [{"Ckafka": {"topic": "test-topic", "partition": 1, "offset": 36,
                             "msgKey": "None", "msgBody": "Hello from Ckafka!"}}, ...]}

(`tests/events/ckafka_trigger.json` is that documented event.) `msgKey` is the message key as a
string (`"None"` for a message sent without one); `msgBody` the message text.

A function that raises is invoked again with the same batch (up to the trigger's retry count,
10,000 by default) and the partition waits meanwhile, so this one never raises for a bad message:
it skips it and reports it in its return value (and the log). Duplicates: CKafka may deliver a
message twice and the sink resends with the same key, so the keys seen are remembered (in this
instance's memory, the last 10,000; several instances run at once under load, so a consumer that
must act once per message keeps the keys in a shared store instead, e.g. Redis `SET key 1 NX EX`).

Deploy as its own function (handler `scf_ckafka_consumer.main_handler`, a CKafka trigger on the
topic of the DataHub access point), with `jsonschema` installed beside it and the contract file
`queue-message.v1.json` (from docs/schema/) next to this file, or `SCHEMA_PATH` naming it.
Replace `process` with what should happen to each report or alert.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger("scf_ckafka_consumer")

SCHEMA_FILE = "queue-message.v1.json"
#: how many message keys this instance remembers
MAX_SEEN = 10_000
#: how much of a validation error is reported (a message may be large)
MAX_REASON = 300

_seen: OrderedDict[str, None] = OrderedDict()
_validator: Any = None


def schema_path() -> Path:
    """SCHEMA_PATH, else the contract beside this file, else the repository's docs/schema/ (a checkout)."""
    if os.environ.get("SCHEMA_PATH"):
        return Path(os.environ["SCHEMA_PATH"])
    here = Path(__file__).resolve()
    beside = here.with_name(SCHEMA_FILE)
    return beside if beside.is_file() else here.parents[1] / "docs" / "schema" / SCHEMA_FILE


def validator() -> Any:
    """The contract's validator, loaded once per instance."""
    global _validator
    if _validator is None:
        import jsonschema

        schema = json.loads(schema_path().read_text(encoding="utf-8"))
        _validator = jsonschema.Draft202012Validator(schema)
    return _validator


def seen_before(key: str) -> bool:
    """Whether `key` was handled already; remembers it otherwise (the oldest key is forgotten first)."""
    if key in _seen:
        _seen.move_to_end(key)
        return True
    _seen[key] = None
    while len(_seen) > MAX_SEEN:
        _seen.popitem(last=False)
    return False


def forget_seen() -> None:
    """Forget every key (a fresh instance)."""
    _seen.clear()


def problem(doc: Any) -> Optional[str]:
    """Why `doc` is not a message of the contract (the first error, by its JSON path), or None."""
    errors = sorted(validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(map(str, first.absolute_path)) or "(the message)"
    return f"{where}: {first.message}"[:MAX_REASON]


def process(doc: Dict[str, Any]) -> None:
    """What to do with one new, valid message: here, one log line. Replace it."""
    alerts = doc.get("alerts") or []
    log.info("%s %s at %s: %d app(s), %d alert(s)", doc.get("kind"), doc.get("message_id"), doc.get("generated_at"),
             len(doc.get("results") or []), len(alerts))


def main_handler(event: Dict[str, Any], context: Any = None) -> Dict[str, Any]:
    """Handle one trigger event; returns what happened to each record, never raises for a bad one."""
    records = event.get("Records") if isinstance(event, dict) else None
    accepted: List[str] = []
    duplicates: List[str] = []
    invalid: List[Dict[str, Any]] = []
    for record in records if isinstance(records, list) else []:
        message = record.get("Ckafka") if isinstance(record, dict) else None
        message = message if isinstance(message, dict) else {}
        where = {k: message.get(k) for k in ("topic", "partition", "offset")}
        reason, doc = _read(message)
        if reason is None:
            assert doc is not None
            key = message.get("msgKey")
            if key in (None, "", "None"):  # sent without a key: the id inside still identifies it
                key = doc["message_id"]
            if key != doc["message_id"]:
                reason = "the message key is not the document's message_id"
            elif seen_before(key):
                duplicates.append(key)
                continue
            else:
                process(doc)
                accepted.append(key)
                continue
        log.warning("skipped %s: %s", where, reason)
        invalid.append({**where, "reason": reason})
    return {"received": len(records) if isinstance(records, list) else 0, "accepted": accepted,
            "duplicates": duplicates, "invalid": invalid}


def _read(message: Dict[str, Any]) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    body = message.get("msgBody")
    if not isinstance(body, str):
        return "no msgBody", None
    try:
        doc = json.loads(body)
    except ValueError:
        return "msgBody is not JSON", None
    reason = problem(doc)
    return (reason, None) if reason else (None, doc)
