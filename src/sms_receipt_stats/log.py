"""Structured JSON log lines on stdout (what SCF collects), scrubbed of secrets."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Iterable, List, Optional, TextIO

from sms_receipt_stats.redaction import prepare, redact_text

LOGGER_NAME = "sms_receipt_stats"
_secrets: List[str] = []


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job", "trigger", "app_id", "sink", "status", "code", "attempts", "elapsed_ms"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        # values are masked before they are serialised: masking the JSON text could cut through its syntax
        entry = {k: v if v is None or isinstance(v, (bool, int, float)) else redact_text(str(v), _secrets)
                 for k, v in entry.items()}
        text = json.dumps(entry, ensure_ascii=False, default=str)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (e.g. in a request id) must not cost the line
            text = json.dumps(entry, ensure_ascii=True, default=str)
        return text


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current invocation's request id."""

    request_id: Any = None

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = self.request_id
        return True


_request_filter = RequestIdFilter()


def configure(request_id: Any = None, secrets: Iterable[str] = (), stream: Optional[TextIO] = None) -> logging.Logger:
    """Idempotent: one handler on our logger (stdout, where SCF collects logs, unless the
    first caller chose another stream); the current request id and secrets."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(_request_filter)
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
        # urllib3 logs request paths and queries at DEBUG, and a robot's key is in its URL
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    _request_filter.request_id = request_id
    _secrets[:] = prepare(secrets)
    return logger
