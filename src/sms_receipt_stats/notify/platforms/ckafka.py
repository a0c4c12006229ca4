"""CKafka through its HTTP access layer: the result document as one message of a DataHub access point.

`ckafka://DATAHUB_ID` → `SendMessage` (service `ckafka`, version 2019-08-19) with
`{"DataHubId": DATAHUB_ID, "Message": [{"Key": <message_id>, "Body": <document JSON>}]}`: one
message per delivery, its key the document's `message_id` (kept by every retry and outbox resend),
so a consumer drops a second copy (docs/sinks.md, *CKafka*). Signed with TC3 by the SDK's common
client, with the SMS API's credentials.

From Tencent Cloud's documentation:
- SendMessage, product 597 page 66682 (https://cloud.tencent.com/document/product/597/66682): endpoint
  `ckafka.tencentcloudapi.com`; `Region` required, and only ap-beijing, ap-chengdu, ap-chongqing,
  ap-guangzhou, ap-nanjing, ap-seoul, ap-shanghai, ap-singapore, ap-tokyo and na-siliconvalley
  serve it; `DataHubId` (e.g. `datahub-meuh9nhn`) and `Message.N` (BatchContent `{Key, Body}`, at
  most 500 a request); 5,000 requests/s; the answer is `MessageId`, a list of message ids.
- Connection to Kafka over HTTP, product 597 page 46797: the DataHub id is the access point's id
  (`datahub-lzxxxxx6`) copied from the data access task's details in the console.
- A topic's message limit is its `max.message.bytes`, 1 KB to 12 MB (CreateTopic's
  `MaxMessageBytes`, [1024, 12582912]); Kafka's default is 1,048,588 bytes with the record's own
  overhead. The SCF CKafka trigger passes at most 6 MB per invocation (product 583 page 17530).

Endpoint: the entry's `endpoint=` (written as SMS_ENDPOINT is), else `ckafka.tencentcloudapi.com`.
Never SMS_ENDPOINT, which names the SMS API's host. Region: the entry's `region=`, else SMS_REGION.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

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

    from sms_receipt_stats.config import Settings

SERVICE, VERSION = "ckafka", "2019-08-19"
DEFAULT_HOST = "ckafka.tencentcloudapi.com"
ACTION = "SendMessage"
#: the regions SendMessage serves (product 597 page 66682, "本接口仅支持")
REGIONS = ("ap-beijing", "ap-chengdu", "ap-chongqing", "ap-guangzhou", "ap-nanjing", "ap-seoul", "ap-shanghai",
           "ap-singapore", "ap-tokyo", "na-siliconvalley")
#: the document's UTF-8 bytes: under a topic's default message limit (Kafka's 1,048,588 bytes, which
#: also holds the key and the record's overhead); a topic may be set lower (1 KB) or higher (12 MB)
MAX_MESSAGE_BYTES = 1_000_000
#: the documented form of a DataHub access point's id: `datahub-` and 8 lower-case letters or digits
DATAHUB_ID = re.compile(r"^datahub-[0-9a-z]{8}$")
FORM = "ckafka://DATAHUB_ID"


def parse_entry(kind: Optional[str], parts: SplitResult, options: Dict[str, str]) -> Dict[str, Any]:
    """`ckafka://DATAHUB_ID`, with an optional `region=` (one SendMessage serves) and `endpoint=`."""

    datahub = parts.netloc
    if not DATAHUB_ID.match(datahub) or parts.path not in ("", "/") or parts.query:
        raise ValueError("expected ckafka://datahub-xxxxxxxx: the DataHub access point's id (`datahub-` and 8 "
                         "lower-case letters or digits, from the data access task's details in the CKafka console)")
    region = options.get("region") or None
    if region is not None and region not in REGIONS:
        raise ValueError(f"region: CKafka's SendMessage is served in {', '.join(REGIONS)} only")
    endpoint = endpoint_option(options)
    return {"kind": "ckafka", "name": datahub, "region": region, "endpoint": endpoint}


def client_for(spec: Any, settings: Settings, timeout: float) -> Any:
    """The common client for `spec`'s region and endpoint; DeliveryError when it cannot be made."""
    region = spec.region or settings.region
    if region not in REGIONS:
        raise DeliveryError(f"region {region} has no CKafka SendMessage: add region= to the entry (one of "
                            f"{', '.join(REGIONS)})", transient=False)
    return cloud_client(SERVICE, VERSION, settings, region, spec.endpoint, DEFAULT_HOST, timeout, "CKafka")


#: the read action `doctor` uses, without sending: the account's data access tasks and their DataHub
#: ids (product 597 page 77795: Limit at most 100, 20 requests/s)
LIST_ACTION = "DescribeDatahubTasks"
LIST_PAGE = 100
LIST_PAGES = 5
#: DatahubTaskInfo.Status (tencentcloud-sdk-python-ckafka, DescribeDatahubTasks' DatahubTaskInfo)
TASK_STATUS = {-1: "creation failed", 0: "being created", 1: "running", 2: "being deleted", 3: "deleted",
               4: "deletion failed", 5: "pausing", 6: "paused", 7: "pause failed", 8: "resuming",
               9: "resume failed"}


def find_datahub(spec: Any, settings: Settings, timeout: float) -> Tuple[Optional[Dict[str, Any]], int]:
    """The data access task whose DatahubId is the entry's, among the SOURCE tasks of its region (at
    most LIST_PAGES pages), and how many tasks were listed. Raises DeliveryError when no call can be
    made (region, credentials, endpoint) and `sdk.CloudError` when the API refuses."""
    from sms_receipt_stats import sdk

    client = client_for(spec, settings, timeout)
    listed = 0
    for page in range(LIST_PAGES):
        answer = sdk.call_action(client, LIST_ACTION, {"TaskType": "SOURCE", "Limit": LIST_PAGE,
                                                       "Offset": page * LIST_PAGE})
        found = answer.get("Result")
        result: Dict[str, Any] = found if isinstance(found, dict) else {}
        tasks = [t for t in result.get("TaskList") or [] if isinstance(t, dict)]
        for task in tasks:
            if task.get("DatahubId") == spec.name:
                return task, listed + tasks.index(task) + 1
        listed += len(tasks)
        total = result.get("TotalCount")
        if len(tasks) < LIST_PAGE or (isinstance(total, int) and listed >= total):
            break
    return None, listed


class CkafkaSink(QueueSink):
    kind = "ckafka"

    def max_message_bytes(self) -> Optional[int]:
        return MAX_MESSAGE_BYTES  # a CKafka topic's message limit (see the constant)

    def params(self, message: QueueMessage) -> Dict[str, Any]:
        return {"DataHubId": self.spec.name, "Message": [{"Key": message.message_id, "Body": message.body}]}

    def publish(self, message: QueueMessage, ctx: DeliveryContext) -> None:
        client = client_for(self.spec, ctx.settings, ctx.timeout)
        answer = cloud_call(client, ACTION, self.params(message))
        ids: List[Any] = answer.get("MessageId") or []
        # one message sent, one id back; anything else is a failure for the message, retried
        # (its key is the document's message_id, so a consumer drops a copy that did arrive)
        if not (isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], str) and ids[0]):
            raise DeliveryError(f"{ACTION} answered no message id for the message", transient=True)


PLATFORM = Platform(
    names={"ckafka": "CKafka"},
    max_bytes=MAX_MESSAGE_BYTES,
    sinks={"ckafka": CkafkaSink},
    scheme="ckafka",
    form=FORM,
    options=("region", "endpoint"),
    parse=parse_entry,
)
