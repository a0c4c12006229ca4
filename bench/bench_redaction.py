"""Secret masking on real outputs: microseconds per call of `redaction`, per document kind.

    python bench/bench_redaction.py [--apps 20] [--repeat 200] [--src PATH]

Builds the outputs the product really emits (a 20-app timer report, a lookup's JSON body, a
`last_30d` dashboard page, a log line, an upstream error message quoting encoded secrets) by
driving `handle` with a fake fetcher, then times the masking each output path runs on them
(`redact` of the result document, `redact_text` of a body or a log line, `scrub` of an upstream
message) with a realistic set of secrets: a SecretKey, a session token, three API tokens,
LINK_SECRET, a webhook secret and two robot URLs. `--src` times another checkout's
`redaction.py` on the same outputs (e.g. the one before decoded views), for comparison.

Figures are printed, never asserted: timings on a shared machine are noisy (bench/README.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.app import handle  # noqa: E402
from sms_receipt_stats.config import load_settings  # noqa: E402
from sms_receipt_stats.jobs import JobDeps  # noqa: E402
from sms_receipt_stats.sdk import CloudError  # noqa: E402
from sms_receipt_stats.stats import Stats  # noqa: E402
from sms_receipt_stats.vocabulary import VOCABULARY  # noqa: E402

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
TOKEN = "bench-api-token-7f3c9a1e5b0d2c4e"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3bEXAMPLE"
SESSION_TOKEN = "Tk" + "a9Zq4Lm2Xw8Rt6Yp0Hs3Jd7Kf1Vb5Nc" * 8  # STS tokens run to hundreds of characters
ROBOT_KEY = "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LINK_SECRET = "link-secret-Qm4Rt8Yw2Xp6Ls0Kd3Jf"


class Fetcher:
    """Fixed counts for every app; the first app fails with an upstream message that quotes
    the robot URL percent-encoded, as a proxy echoing its request would."""

    def __init__(self, failing: str, message: str) -> None:
        self.failing = failing
        self.message = message

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        if app_id == self.failing:
            raise CloudError("AuthFailure.SignatureFailure", self.message, "req-error-0001")
        return Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=900, CallbackFailCount=50,
                     InvalidNumberCount=50), "req-0001"


def outputs(apps: int) -> Tuple[List[str], Dict[str, Any]]:
    """The secrets, and one output of each kind as the product emits it."""
    from urllib.parse import quote

    ids = [f"14{n:08d}" for n in range(1, apps + 1)]
    robot = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"
    env = {
        "TENCENTCLOUD_SECRETID": "AKIDbench0000000000000000000000000",
        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
        "TENCENTCLOUD_SESSIONTOKEN": SESSION_TOKEN,
        "SMS_SDK_APP_IDS": ",".join(f"{i}=app-{n}" for n, i in enumerate(ids)),
        "API_TOKENS": f"{TOKEN},bench-api-token-second-0a1b2c3d,bench-api-token-third-4e5f6a7b",
        "LINK_SECRET": LINK_SECRET,
        "PUBLIC_URL": "https://fn.example.com",
        "NOTIFY_URLS": f"wecom+{robot},webhook+https://hooks.example.com/h#secret={WEBHOOK_SECRET},"
                       "dingtalk+https://oapi.dingtalk.com/robot/send?access_token=9a8b7c6d5e4f3a2b1c0d",
    }
    settings, _ = load_settings(env)
    secrets = settings.secret_values()
    message = (f"proxy 502 for POST {quote(robot, safe='')}: upstream closed the connection "
               "(request id 3314836f-0b10-45cb-b7be-593e84c1c197)")
    fetcher = Fetcher(ids[0], message)

    def deps() -> JobDeps:
        return JobDeps(fetcher_factory=lambda s: fetcher, now=lambda: NOW, deliver=lambda doc, s, d: [])

    timer = {"Type": "Timer", "TriggerName": "report", "Time": "2026-11-25T01:00:00Z", "Message": ""}
    doc = handle(timer, {"request_id": "bench"}, env=env, deps=deps())
    http = {"httpMethod": "GET", "path": "/stats", "headers": {"authorization": f"Bearer {TOKEN}"},
            "queryString": {"app_id": ids[1], "window": "last_7d", "granularity": "day"}}
    lookup = handle(http, None, env=env, deps=deps())
    page_event = {"httpMethod": "GET", "path": "/dashboard", "headers": {"authorization": f"Bearer {TOKEN}"},
                  "queryString": {"window": "last_30d", "app_id": ",".join(ids[:8])}}
    page = handle(page_event, {"time_limit_in_ms": 60_000}, env=env, deps=deps())
    log_line = ('{"level": "warning", "logger": "sms_receipt_stats.sinks", "message": "sink wecom: HTTP 500 '
                'from qyapi.weixin.qq.com, retrying", "request_id": "bench", "sink": "wecom", "attempts": 2}')
    return secrets, {"doc": doc, "lookup": lookup["body"], "page": page["body"], "log": log_line,
                     "upstream": message}


def load_redaction(src: Optional[str]) -> Any:
    if src is None:
        from sms_receipt_stats import redaction

        return redaction
    path = Path(src) / "sms_receipt_stats" / "redaction.py"
    spec = importlib.util.spec_from_file_location("redaction_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    """(median, p95) CPU microseconds of `fn()` over `repeat` calls, after one warm-up call (CPU
    time, not wall time: the machine is shared, and a busy neighbour should not count)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--src", help="time the redaction.py of another checkout's src/ on the same outputs")
    args = parser.parse_args()
    secrets, out = outputs(args.apps)
    red = load_redaction(args.src)
    prepared = red.prepare(secrets)
    cases: List[Tuple[str, int, Callable[[], Any]]] = [
        (f"result document, {args.apps} apps (redact)", len(str(out["doc"])),
         lambda: red.redact(out["doc"], prepared, keep=VOCABULARY)),
        ("lookup body, JSON (redact_text)", len(out["lookup"]), lambda: red.redact_text(out["lookup"], prepared)),
        ("dashboard page, HTML (redact_text)", len(out["page"]), lambda: red.redact_text(out["page"], prepared)),
        ("log line (redact_text)", len(out["log"]), lambda: red.redact_text(out["log"], prepared)),
        ("upstream message, encoded URL (scrub)", len(out["upstream"]), lambda: red.scrub(out["upstream"], secrets)),
    ]
    print(f"redaction from {args.src or ROOT / 'src'}; {len(prepared)} secrets; median / p95 of {args.repeat} calls")
    print("| output | chars | median µs | p95 µs |\n|---|---|---|---|")
    for name, size, fn in cases:
        median, p95 = timed(fn, args.repeat)
        print(f"| {name} | {size:,} | {median:,.0f} | {p95:,.0f} |")
    leaked = [s for s in secrets if len(s) >= 8 and s.lower() in red.scrub(out["upstream"], secrets).lower()]
    print(f"upstream message after scrub: {red.scrub(out['upstream'], secrets)!r}" + (" LEAKS" if leaked else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
