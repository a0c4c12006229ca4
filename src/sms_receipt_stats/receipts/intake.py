"""One batch of receipts as Tencent pushes it: validated whole, reduced to what is counted.

The push (SMS docs, "短信下发状态通知", cloud.tencent.com/document/product/382/5807 and
intl.cloud.tencent.com/document/api/382/43547) is a `POST` whose body is a JSON array of
records, several per request::

    [{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86", "mobile": "13xxxxxxxxx",
      "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
      "sid": "xxxxxxx"}]

Every field is a string and required. `report_status` is `SUCCESS` or `FAIL`; `errmsg` is the
receipt status code (`DELIVRD`, or a carrier's code such as `MK:0005`); `sid` is the sending id
(the `SerialNo` the send API returned); `user_receive_time` is Beijing time.

A batch is taken whole or refused whole (`IntakeError`, the route's 400/413): one bad record
means a sender we do not understand, and counting the rest would count them again when the
batch comes back fixed. Refusals name the record and the field, never a value: a value may be a
phone number. Only what is counted survives `parse_batch`: the phone number is read (it must be
a string) and dropped; `description` is free text and dropped too.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
from dataclasses import dataclass
from typing import Any, List, Literal, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

#: the largest body taken (bytes, after base64); Tencent's batches are far smaller
MAX_BODY_BYTES = 1024 * 1024
#: the most records in one batch
MAX_RECORDS = 1000
#: a receipt older than this (by its user_receive_time) is past what the counters keep
MAX_AGE_SECONDS = 35 * 86400
#: a receipt this far in the future is a clock or a sender gone wrong
MAX_AHEAD_SECONDS = 3600
BEIJING_OFFSET = 8 * 3600
#: how late a receipt arrives (our clock minus user_receive_time): the upper edges of the histogram
LATENCY_EDGES: Tuple[Tuple[int, str], ...] = ((60, "1m"), (300, "5m"), (3600, "1h"), (6 * 3600, "6h"),
                                              (86400, "1d"))
LATENCY_LAST = "more"
LATENCY_BUCKETS = (*(label for _, label in LATENCY_EDGES), LATENCY_LAST)

# no control characters (C0, C1, the line and paragraph separators) anywhere; ids are printable ASCII
_TEXT = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


class ReceiptRecord(BaseModel):
    """One record of the push; strict: a number where a string belongs is refused, not coerced."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    user_receive_time: str = Field(pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    nationcode: str = Field(pattern=r"^\+?[0-9]{1,4}$")
    #: read and dropped: its format is not ours to judge (a number Tencent masks one day must not
    #: cost a batch), only that it is short text
    mobile: str = Field(min_length=1, max_length=32, pattern=_TEXT)
    report_status: Literal["SUCCESS", "FAIL"]
    #: the receipt status code: short text (carriers' codes are ASCII today; nothing else is assumed)
    errmsg: str = Field(min_length=1, max_length=64, pattern=_TEXT)
    description: str = Field(max_length=1024, pattern=_TEXT)
    sid: str = Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")


_BATCH = TypeAdapter(List[ReceiptRecord])


class IntakeError(ValueError):
    """A batch refused whole; `status` is the HTTP status (400, 413), the message names the field."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Receipt:
    """What is kept of a record: no phone number, no free text."""

    #: the receipt's hour: UTC epoch hours (a whole Beijing hour), of user_receive_time
    hour: int
    status: str
    code: str
    nationcode: str
    #: a digest of the sid (16 characters), the key of de-duplication
    sid_key: str
    #: how late it arrived (a LATENCY_BUCKETS label)
    latency: str


def sid_key(sid: str) -> str:
    """96 bits of SHA-256 of the sid, base64url: a short fixed size, whatever the sid's length."""
    return base64.urlsafe_b64encode(hashlib.sha256(sid.encode("utf-8")).digest()[:12]).decode("ascii")


def beijing_epoch(text: str) -> Optional[int]:
    """`yyyy-MM-dd HH:mm:ss` read as Beijing time (UTC+8), as UTC epoch seconds; None when no such time."""
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour < 24 and minute < 60
            and second < 60):
        return None
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - BEIJING_OFFSET


def latency_bucket(seconds: float) -> str:
    for edge, label in LATENCY_EDGES:
        if seconds < edge:
            return label
    return LATENCY_LAST


def _where(loc: Tuple[Any, ...]) -> str:
    if loc and isinstance(loc[0], int):
        rest = ".".join(str(p) for p in loc[1:])
        return f"record {loc[0]}" + (f": {rest}" if rest else "")
    return ".".join(str(p) for p in loc) or "body"


def decode_body(body: Any, base64_encoded: bool) -> bytes:
    """The raw body: capped before anything is decoded (413), then base64-decoded if the event says so."""
    if body is None or body == "":
        raise IntakeError("the body is empty: expected a JSON array of receipts")
    if not isinstance(body, str):
        raise IntakeError("the body must be a JSON array of receipts")
    raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise IntakeError(f"the body exceeds {MAX_BODY_BYTES} bytes", 413)
    if base64_encoded:
        import binascii

        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise IntakeError("the body is not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise IntakeError(f"the body exceeds {MAX_BODY_BYTES} bytes", 413)
    return raw


def parse_batch(raw: bytes, now: float) -> List[Receipt]:
    """The receipts of one pushed body, or IntakeError naming the first problem.

    `now` (UTC epoch seconds) bounds user_receive_time: at most MAX_AHEAD_SECONDS ahead, at most
    MAX_AGE_SECONDS old; it also dates each receipt's latency.
    """
    from sms_receipt_stats import jsonlimits

    try:
        data = jsonlimits.loads(raw.decode("utf-8-sig"))  # a byte order mark is not worth a refused batch
    except jsonlimits.JsonTooDeep as exc:
        raise IntakeError(f"the body is {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise IntakeError("the body is not valid JSON (expected an array of receipts)") from None
    if not isinstance(data, list):
        kind = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        raise IntakeError(f"the body must be a JSON array of receipts, not {kind}")
    if not data:
        raise IntakeError("the body is an empty array: expected at least one receipt")
    if len(data) > MAX_RECORDS:
        raise IntakeError(f"{len(data)} records in one batch; at most {MAX_RECORDS}", 413)
    try:
        records = _BATCH.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        reason = str(first.get("msg", "invalid"))
        if first.get("type") == "string_pattern_mismatch":
            reason = "not in the expected format"
        raise IntakeError(f"{_where(tuple(first.get('loc', ())))}: {reason}") from None
    receipts: List[Receipt] = []
    for index, record in enumerate(records):
        when = beijing_epoch(record.user_receive_time)
        if when is None:
            raise IntakeError(f"record {index}: user_receive_time: no such date or time")
        if when > now + MAX_AHEAD_SECONDS:
            raise IntakeError(f"record {index}: user_receive_time: more than an hour in the future "
                              "(Beijing time, yyyy-MM-dd HH:mm:ss)")
        if when < now - MAX_AGE_SECONDS:
            raise IntakeError(f"record {index}: user_receive_time: older than {MAX_AGE_SECONDS // 86400} days")
        code = record.errmsg.strip()
        if not code:
            raise IntakeError(f"record {index}: errmsg: blank")
        receipts.append(Receipt(hour=when // 3600, status=record.report_status, code=code,
                                nationcode=record.nationcode.lstrip("+"), sid_key=sid_key(record.sid),
                                latency=latency_bucket(now - when)))
    return receipts
