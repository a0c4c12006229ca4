"""The STATE_URL forms of docs/deploy.md (*Stateful deploy*) reach `AUTH` as TencentDB for Redis reads it.

TencentDB authenticates the default account with its password and a custom account with
`account@password` as the one password argument (TencentDB for Redis, *Managing Account*,
https://www.tencentcloud.com/document/product/239/34590); its passwords may hold `@ : / # ? %`
(*Resetting Password*, https://www.tencentcloud.com/document/product/239/46557), which the docs
tell users to percent-encode. A loopback server records the commands the store sends.
"""

from __future__ import annotations

import socket
import threading
from typing import Iterator, List
from urllib.parse import quote

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.state.flow import open_store

PASSWORD = "Pw@1:/#?%~x"  # every character a URL reserves, as TencentDB allows them


class Recorder:
    """A RESP server on loopback that answers +OK to every command and keeps them."""

    def __init__(self) -> None:
        self.commands: List[List[bytes]] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                stream = conn.makefile("rb")
                try:
                    while True:
                        header = stream.readline()
                        if not header.startswith(b"*"):
                            break
                        args = []
                        for _ in range(int(header[1:])):
                            size = int(stream.readline()[1:])
                            args.append(stream.read(size + 2)[:-2])
                        self.commands.append(args)
                        conn.sendall(b"+OK\r\n")
                except (OSError, ValueError):
                    pass

    def close(self) -> None:
        self._sock.close()


@pytest.fixture()
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def _auth_of(url: str, recorder: Recorder) -> List[bytes]:
    settings, issues = load_settings({"STATE_URL": url})
    assert [str(i) for i in issues] == [] and settings.state_url is not None
    store = open_store(settings.state_url.get_secret_value(), "deploy-doc-test:")
    try:
        store.set("k", "v", 60)
    finally:
        store.close()
    (auth,) = [c for c in recorder.commands if c[0] == b"AUTH"]
    return auth


def test_the_default_account_sends_its_password_alone(recorder: Recorder) -> None:
    url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{recorder.port}/0"
    assert _auth_of(url, recorder) == [b"AUTH", PASSWORD.encode()]


def test_a_custom_account_sends_account_at_password_as_one_argument(recorder: Recorder) -> None:
    url = f"redis://:{quote('sms_stats@' + PASSWORD, safe='')}@127.0.0.1:{recorder.port}/0"
    assert _auth_of(url, recorder) == [b"AUTH", b"sms_stats@" + PASSWORD.encode()]


def test_an_unencoded_password_is_refused_with_the_variable_named_not_quoted() -> None:
    """What happens to a user who skips the encoding step: a config error, never the password."""
    settings, issues = load_settings({"STATE_URL": f"redis://:{PASSWORD}@10.0.0.12:6379/0"})
    assert settings.state_url is None  # the function runs stateless rather than with a wrong host
    texts = [str(i) for i in issues]
    assert texts and all(t.startswith("STATE_URL") for t in texts)
    assert not any("Pw@1" in t for t in texts)
