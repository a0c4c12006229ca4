"""amqp:// entries: the user and password in the URL never leave, whatever the broker answers.

Canaries in the user and password of amqp entries that succeed, are refused by the real broker,
point at a closed port or at a vhost the broker does not have; the canaries must appear in none
of: stdout (the JSON log), log records (pika's included), the result document, the messages the
queue received.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any, List

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.jobs import JobDeps
from support import HEALTHY_STATS, NOW, AmqpScratch, FakeFetcher, base_env, find_canaries, read_event

pytestmark = pytest.mark.integration

CANARY_PASSWORD = "canary-amqp-password-0010"
CANARY_USER = "canary-amqp-user-0011"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_amqp_credentials_appear_nowhere(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with AmqpScratch(tag="sec") as scratch:
        good = scratch.entry()
        refused = scratch.entry(userinfo=f"{CANARY_USER}:{CANARY_PASSWORD}")
        nowhere = scratch.entry(userinfo=f"{CANARY_USER}:{CANARY_PASSWORD}", port=closed_port())
        no_vhost = scratch.entry(userinfo=f"guest:{CANARY_PASSWORD}").replace("/%2F#", "/canary-vhost#")
        fetcher = FakeFetcher(HEALTHY_STATS)
        deps = JobDeps(fetcher_factory=lambda settings: fetcher, now=lambda: NOW, monotonic=time.monotonic,
                       sleep=lambda seconds: None)
        result = handle(read_event("timer_default"), {"request_id": "amqp-sec", "time_limit_in_ms": 30_000},
                        env=base_env(NOTIFY_URLS=",".join([good, refused, nowhere, no_vhost])), deps=deps)
        received: List[Any] = [body.decode() for _, _, body in scratch.drain()]
    assert [d["ok"] for d in result["deliveries"]] == [True, False, False, False]
    out = capsys.readouterr()
    records = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for where, text in (("stdout", out.out), ("stderr", out.err), ("log records", records),
                        ("result", json.dumps(result, ensure_ascii=False)), ("queue", "\n".join(received))):
        assert not find_canaries(text, [CANARY_PASSWORD, CANARY_USER]), where
