"""Event templates of the two SCF triggers, for `invoke` and the demo.

They mirror the real fixtures in tests/events/ (a test keeps them in step).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, Optional

TIMER_EVENT: Dict[str, Any] = {
    "Type": "Timer",
    "TriggerName": "daily-report",
    "Time": "2026-11-25T01:00:00Z",
    "Message": "",
}

APIGW_EVENT: Dict[str, Any] = {
    "requestContext": {
        "serviceId": "service-f94sy04v",
        "path": "/stats",
        "httpMethod": "GET",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {},
        "sourceIp": "203.0.113.10",
        "stage": "release",
    },
    "headers": {
        "accept": "application/json",
        "host": "service-f94sy04v-1250000000.gz.apigw.tencentcs.com",
        "user-agent": "curl/8.5.0",
    },
    "body": None,
    "pathParameters": {},
    "queryStringParameters": {},
    "headerParameters": {},
    "stageVariables": {"stage": "release"},
    "path": "/release/stats",
    "queryString": {},
    "httpMethod": "GET",
    "isBase64Encoded": False,
}


def timer_event(message: Optional[str] = None) -> Dict[str, Any]:
    event = copy.deepcopy(TIMER_EVENT)
    if message is not None:
        event["Message"] = message
    return event


def apigw_event(query: Optional[Dict[str, str]] = None, token: Optional[str] = None, method: str = "GET",
                path: str = "/release/stats", body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    event = copy.deepcopy(APIGW_EVENT)
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    event["path"] = path
    event["queryString"] = dict(query or {})
    event["queryStringParameters"] = dict(query or {})
    if token:
        event["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event
