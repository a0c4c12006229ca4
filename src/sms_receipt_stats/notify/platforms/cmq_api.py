"""TDMQ CMQ through the management API (`cmq+api://`): for tests only, an explicit choice.

`cmq+api://queue/NAME` → `SendCmqMsg` {QueueName, MsgContent, DelaySeconds: 0};
`cmq+api://topic/NAME` → `PublishCmqMsg` {TopicName, MsgContent}. Same credentials as the
SMS API; region = the entry's `region=` or SMS_REGION.

Since 2024-08-15 Tencent caps these two actions at 20 requests/s per root account and 10 per
sub-account and says they are only for testing and verifying message sending; business traffic
goes through the HTTP data-flow API (`cmq://`, `notify/platforms/cmq.py`): TDMQ for CMQ docs,
product 1111 page 63331 (product 1496 page 109809 in Chinese). `doctor` warns about every
`cmq+api://` entry (docs/sinks.md, *CMQ*).

Endpoint: the entry's `endpoint=` (written as SMS_ENDPOINT is), else TDMQ's own public endpoint
`tdmq.tencentcloudapi.com`, the API (service `tdmq`, version 2020-02-17) that serves
SendCmqMsg and PublishCmqMsg in Tencent's SDKs (`TdmqClient._endpoint`). Never SMS_ENDPOINT:
with the SMS VPC endpoint there, the queue call would go to the SMS host and fail.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Optional

from sms_receipt_stats.notify.base import (
    DeliveryContext,
    DeliveryError,
    QueueMessage,
    QueueSink,
    cloud_call,
    cloud_client,
)
from sms_receipt_stats.notify.platforms import Platform, endpoint_option

if TYPE_CHECKING:
    from urllib.parse import SplitResult


SERVICE, VERSION = "tdmq", "2020-02-17"
DEFAULT_HOST = "tdmq.tencentcloudapi.com"
MAX_MESSAGE_BYTES = 1024 * 1024  # CMQ's largest message; a queue may be configured smaller (default 64 KB)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_KINDS = {"queue": "cmq_api_queue", "topic": "cmq_api_topic"}


def parse_entry(kind: Optional[str], parts: SplitResult, options: Dict[str, str]) -> Dict[str, Any]:
    """`cmq+api://queue/NAME` or `cmq+api://topic/NAME`, with an optional `region=` and `endpoint=`."""

    kind = _KINDS.get(parts.netloc)
    name = parts.path.strip("/")
    if kind is None or not _NAME.match(name):
        raise ValueError("expected cmq+api://queue/NAME or cmq+api://topic/NAME")
    endpoint = endpoint_option(options)
    return {"kind": kind, "name": name, "region": options.get("region") or None, "endpoint": endpoint}


class CmqApiSink(QueueSink):
    kind = "cmq_api"
    action: str
    name_field: str

    def max_message_bytes(self) -> Optional[int]:
        return MAX_MESSAGE_BYTES

    def params(self, content: str) -> Dict[str, Any]:
        return {self.name_field: self.spec.name, "MsgContent": content}

    def publish(self, message: QueueMessage, ctx: DeliveryContext) -> None:
        settings = ctx.settings
        client = cloud_client(SERVICE, VERSION, settings, self.spec.region or settings.region, self.spec.endpoint,
                              DEFAULT_HOST, ctx.timeout, "the queue")
        answer = cloud_call(client, self.action, self.params(message.body))
        if answer.get("Result") is False:
            raise DeliveryError(f"{self.action} answered Result=false", transient=True)


class CmqApiQueueSink(CmqApiSink):
    kind = "cmq_api_queue"
    action = "SendCmqMsg"
    name_field = "QueueName"

    def params(self, content: str) -> Dict[str, Any]:
        return {**super().params(content), "DelaySeconds": 0}


class CmqApiTopicSink(CmqApiSink):
    kind = "cmq_api_topic"
    action = "PublishCmqMsg"
    name_field = "TopicName"


PLATFORM = Platform(
    names={"cmq_api_queue": "CMQ (management API)", "cmq_api_topic": "CMQ (management API)"},
    max_bytes=MAX_MESSAGE_BYTES,
    sinks={"cmq_api_queue": CmqApiQueueSink, "cmq_api_topic": CmqApiTopicSink},
    scheme="cmq+api",
    form="cmq+api://queue|topic/NAME",
    options=("region", "endpoint"),
    parse=parse_entry,
)
