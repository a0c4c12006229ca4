"""The message contract as JSON Schema, generated from the pydantic models (docs/sinks.md, *Queues*).

`docs/schema/result-document.v1.json` is the result document (timer return value, webhook body,
HTTP lookups' documents); `docs/schema/queue-message.v1.json` is the same document as every queue
sink sends it: `message_id` always present. Both are checked in and a test keeps them current:

    python -m sms_receipt_stats.dev.schema --write   # after changing a model in documents.py
    python -m sms_receipt_stats.dev.schema --check   # exit 1 when a checked-in file is stale

Versioning: the `schema` field (`sms-receipt-stats/v1`) names the contract. Adding an optional
field keeps v1 (consumers must ignore fields they do not know: the schemas allow them); removing
or retyping a field, or making one required, is a new version with new files.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from sms_receipt_stats import SCHEMA

VERSION = SCHEMA.rsplit("/", 1)[-1]
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "docs" / "schema"
BASE_ID = "urn:sms-receipt-stats:schema:"
DOCUMENT_FILE = f"result-document.{VERSION}.json"
MESSAGE_FILE = f"queue-message.{VERSION}.json"


def document_schema() -> Dict[str, Any]:
    """The result document's schema: what `ResultDocument.model_validate` accepts, with `schema` pinned."""
    from sms_receipt_stats.documents import ResultDocument

    body = ResultDocument.model_json_schema(mode="validation", by_alias=True)
    body["properties"]["schema"] = {"const": SCHEMA, "description": "the contract and its version",
                                    "default": SCHEMA, "title": "Schema"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + DOCUMENT_FILE,
            "title": f"sms-receipt-stats result document ({VERSION})",
            "description": "The timer's return value and the body of webhook and queue sinks (docs/sinks.md).",
            **{k: v for k, v in body.items() if k != "title"}}


def message_schema() -> Dict[str, Any]:
    """A queue message: the result document with `message_id` (the dedup key) required and non-empty."""
    schema = copy.deepcopy(document_schema())
    schema["$id"] = BASE_ID + MESSAGE_FILE
    schema["title"] = f"sms-receipt-stats queue message ({VERSION})"
    schema["description"] = ("One message per run on cmq://, ckafka:// and amqp:// sinks: the result document, "
                             "its message_id also the queue's key/property (docs/sinks.md, Queues).")
    schema["properties"]["message_id"] = {"type": "string", "minLength": 1, "title": "Message Id",
                                          "description": "drop a message whose id you have already processed"}
    schema["required"] = sorted({*schema.get("required", []), "message_id", "schema", "kind"})
    return schema


def rendered() -> Dict[str, str]:
    """File name → the exact text that belongs in docs/schema/."""
    return {name: json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for name, schema in ((DOCUMENT_FILE, document_schema()), (MESSAGE_FILE, message_schema()))}


def stale(directory: Path = SCHEMA_DIR) -> list:
    """The files in `directory` that are missing or differ from what the models generate."""
    out = []
    for name, text in rendered().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sms_receipt_stats.dev.schema", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the schemas into docs/schema/")
    mode.add_argument("--check", action="store_true", help="exit 1 when docs/schema/ is not current")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR)
    args = parser.parse_args(argv)
    if args.write:
        args.dir.mkdir(parents=True, exist_ok=True)
        for name, text in rendered().items():
            (args.dir / name).write_text(text, encoding="utf-8")
            print(f"wrote {args.dir / name}")
        return 0
    bad = stale(args.dir)
    for name in bad:
        print(f"{args.dir / name} is not current: run python -m sms_receipt_stats.dev.schema --write", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
