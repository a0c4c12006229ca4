"""A small client of the Chrome DevTools Protocol for Debian's chromium: launch it headless,
attach to its page, send commands and keep every event (console, log, exceptions, issues).

Protocol reference: https://chromedevtools.github.io/devtools-protocol/ (Page, Runtime, Log,
Emulation, Audits domains). The browser itself is the distribution's package: nothing is
downloaded. `--remote-debugging-port=0` makes chromium pick a free port and write it to
`DevToolsActivePort` in its profile directory.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import websocket

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1")


def find_chromium() -> Optional[str]:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class Browser:
    """One headless chromium with one page; a context manager that always ends the process."""

    def __init__(self, executable: str, profile: Path, timeout: float = 30.0):
        self.executable, self.profile, self.timeout = executable, profile, timeout
        self.process: Optional[subprocess.Popen] = None
        self.ws: Optional[websocket.WebSocket] = None
        self.events: List[Dict[str, Any]] = []
        self._next_id = 0

    def __enter__(self) -> Browser:
        self.process = subprocess.Popen([self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._port()
        deadline = time.monotonic() + self.timeout
        while True:  # the page target appears shortly after the port
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert pages, "chromium opened no page"
        # no Origin header: chromium refuses DevTools websockets from origins it was not told about
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        return self

    def _port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.exists():
                first = marker.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    # -- protocol ------------------------------------------------------------------------------------

    def send(self, method: str, **params: Any) -> Dict[str, Any]:
        """Send a command and return its result; events arriving meanwhile are kept in `events`."""
        assert self.ws is not None
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The next `event` (one already kept counts once)."""
        assert self.ws is not None
        for index, seen in enumerate(self.events):
            if seen["method"] == event and not seen.get("_taken"):
                seen["_taken"] = True
                return self.events[index]
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
                if message["method"] == event:
                    message["_taken"] = True
                    return message
        raise TimeoutError(f"no {event} within the time limit")

    def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value (DevTools runs it; the page's CSP forbids its own scripts)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- what a test needs ---------------------------------------------------------------------------

    def watch(self) -> None:
        """Record console messages, uncaught exceptions, log entries (CSP violations among them) and issues."""
        for domain in ("Page", "Runtime", "Log", "Audits"):
            self.send(f"{domain}.enable")

    def viewport(self, width: int, height: int, scale: float = 1.0, mobile: bool = False) -> None:
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=scale,
                  mobile=mobile)

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", timeout=120)

    def problems(self) -> List[str]:
        """Console errors, exceptions, error log entries and every issue chromium raised."""
        found: List[str] = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"log ({entry.get('source')}): {entry.get('text')}")
            elif method == "Audits.issueAdded":
                issue = params.get("issue", {})
                found.append(f"issue: {issue.get('code')}: {json.dumps(issue.get('details'))[:300]}")
        return found

    def screenshot(self, path: Path) -> Dict[str, float]:
        """The whole page (not just the viewport) as PNG; returns its CSS size."""
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width, height = size["width"], size["height"]
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return {"width": width, "height": height}
