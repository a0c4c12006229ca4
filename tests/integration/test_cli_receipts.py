"""The receipts commands: `receipts-url`, `push-receipts`, and the demo's receipts step."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any, Dict, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev import cli
from sms_receipt_stats.dev.serve import FunctionUrlServer
from sms_receipt_stats.receipts.credential import receipts_token, token_matches
from support import APP_PROD, base_env, fake_deps

SECRET = "cli-receipts-secret-Vb6nM1"
PUBLIC = "https://1250000000-abcd.ap-guangzhou.tencentscf.com"


@pytest.fixture()
def clean_env(monkeypatch: Any) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith(("TENCENTCLOUD_", "SMS_", "RECEIPTS_", "PUBLIC_URL", "STATE_")):
            monkeypatch.delenv(key)
    yield


def test_receipts_url_prints_the_apps_callback_url(capsys: Any, clean_env: None, monkeypatch: Any) -> None:
    monkeypatch.setenv("RECEIPTS_SECRET", SECRET)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")
    monkeypatch.setenv("SMS_SDK_APP_IDS", f"{APP_PROD}=prod")
    assert cli.main(["receipts-url", APP_PROD]) == 0
    url = capsys.readouterr().out.strip()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC and parts.path == f"/receipts/{APP_PROD}"
    token = parse_qs(parts.query)["token"][0]
    assert token_matches(SECRET, APP_PROD, token) and not token_matches(SECRET, "1400000002", token)
    assert SECRET not in url


@pytest.mark.parametrize(("env", "words"), [
    ({"PUBLIC_URL": PUBLIC, "SMS_SDK_APP_IDS": APP_PROD}, "RECEIPTS_SECRET"),
    ({"RECEIPTS_SECRET": SECRET, "SMS_SDK_APP_IDS": APP_PROD}, "PUBLIC_URL"),
    ({"RECEIPTS_SECRET": SECRET, "PUBLIC_URL": PUBLIC, "SMS_SDK_APP_IDS": "1400000002"}, "SMS_SDK_APP_IDS"),
    ({"RECEIPTS_SECRET": "Vb6-short", "PUBLIC_URL": PUBLIC, "SMS_SDK_APP_IDS": APP_PROD}, "RECEIPTS_SECRET"),
])
def test_receipts_url_names_what_is_missing(capsys: Any, clean_env: None, monkeypatch: Any,
                                            env: Dict[str, str], words: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["receipts-url", APP_PROD]) == 2
    out = capsys.readouterr()
    assert out.out == "" and words in out.err
    assert SECRET not in out.err and "Vb6-short" not in out.err


def test_push_receipts_sends_the_emulators_receipts_to_a_function(capsys: Any, tmp_path: Any) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, STATE_URL=f"sqlite:///{tmp_path}/state.db")
    deps = fake_deps(now=datetime.now(timezone.utc))
    with FunctionUrlServer(lambda event, context: handle(event, context, env=env, deps=deps)) as server:
        url = f"{server.endpoint}/receipts/{APP_PROD}?token={receipts_token(SECRET, APP_PROD)}"
        code = cli.main(["push-receipts", url, "--app-id", APP_PROD, "--hours", "24", "--duplicates", "0.2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 batches given up" in out and "{200:" in out


def test_push_receipts_reports_a_refused_push(capsys: Any, tmp_path: Any) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, STATE_URL=f"sqlite:///{tmp_path}/state.db")
    with FunctionUrlServer(lambda event, context: handle(event, context, env=env, deps=fake_deps())) as server:
        code = cli.main(["push-receipts", f"{server.endpoint}/receipts/{APP_PROD}?token=wrong", "--app-id", APP_PROD,
                         "--hours", "24"])
    assert code == 1
    assert "401" in capsys.readouterr().out


def test_the_demo_shows_the_failed_receipt_codes(capsys: Any) -> None:
    saved = dict(os.environ)
    try:
        assert cli.main(["demo"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr().out
    step = out.split("8) Receipts pushed by Tencent", 1)[1]
    assert "failed receipts by code" in step and "powered_off" in step and "countries: +86" in step
    assert "token=…" in step and "token=" + receipts_token("demo-receipts-secret-0123456789", "1400006879") not in out
