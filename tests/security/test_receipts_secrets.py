"""RECEIPTS_SECRET and the tokens derived from it never leave: not in results, messages or logs."""

from __future__ import annotations

import json
from typing import Any

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.receipts.credential import receipts_token
from support import APPS, base_env, read_event

SECRET = "receipts-canary-Tz5qW8eR1yU4"


def test_a_timer_report_with_receipts_never_shows_the_secret_or_a_token(invoke: Any, delivered: Any, capsys: Any,
                                                                          tmp_path: Any) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, STATE_URL=f"sqlite:///{tmp_path}/state.db",
                   NOTIFY_URLS="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-0123456789abcdef")
    doc = invoke(read_event("timer_default"), env=env)
    out = json.dumps(doc, ensure_ascii=False) + capsys.readouterr().out + json.dumps(delivered.docs)
    assert delivered.docs  # what the sinks got is scanned too
    for value in (SECRET, *(receipts_token(SECRET, app) for app in APPS)):
        assert value not in out
    assert doc["results"] and all("receipt_codes" in r for r in doc["results"])  # the callback was on


def test_the_secret_is_masked_like_every_other_secret() -> None:
    settings, _ = load_settings(base_env(RECEIPTS_SECRET=SECRET))
    assert SECRET in settings.secret_values()
    assert SECRET not in settings.model_dump_json() and SECRET not in repr(settings)
