"""`sms-receipt-stats`: demo, emulator, serve, invoke, query, doctor, silence, backtest and package, for local
development."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import parse_qsl

DEMO_APPS = "1400006874=prod,1400006879=marketing,1400007001=otp"
DEMO_TOKEN = "demo-token-0123456789"
#: the demo's key of signed dashboard links (`serve --emulator` uses the same, so the demo's links open there)
DEMO_LINK_SECRET = "demo-link-secret-0123456789"
DEMO_SERVE_PORT = 8000
#: variables the demo and `serve --emulator` replace, so a developer's own settings cannot leak in
_DEMO_PREFIXES = ("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "ALERT_", "REPORT_", "PUBLIC_URL", "LINK_SECRET",
                  "STATE_")


def load_main_handler() -> Callable[[Any, Any], Any]:
    """`handler.main_handler` from the path, the working directory or the checkout."""
    try:
        module = importlib.import_module("handler")
        if hasattr(module, "main_handler"):
            return module.main_handler
    except ImportError:
        pass
    here = Path(__file__).resolve()
    for candidate in (Path.cwd() / "handler.py", here.parents[3] / "handler.py", here.parents[2] / "handler.py"):
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("handler", candidate)
            if spec and spec.loader:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.main_handler
    from sms_receipt_stats.app import handle

    return handle


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2%}"


def format_table(result: Dict[str, Any]) -> str:
    """A readable table of one app result (and its series)."""
    from sms_receipt_stats.stats import STAT_FIELDS

    window = result["window"]
    name = f"{result['app_name']} ({result['app_id']})" if result.get("app_name") else result["app_id"]
    lines = [f"{name}  {window['begin']} → {window['end']} ({window['timezone']})"]
    if result.get("error"):
        err = result["error"]
        lines += [f"  error: {err['code']}: {err['message']}", f"  hint:  {err.get('hint', '')}"]
        return "\n".join(lines)
    stats, rates = result["stats"], result["rates"]
    width = max(len(f) for f in STAT_FIELDS)
    lines += [f"  {f:<{width}}  {stats[f]:>12,}" for f in STAT_FIELDS]
    lines += [f"  {'receipt_rate':<{width}}  {_pct(rates['receipt_rate']):>12}",
              f"  {'success_rate':<{width}}  {_pct(rates['success_rate']):>12}",
              f"  {'delivery_rate':<{width}}  {_pct(rates['delivery_rate']):>12}"]
    if result.get("series"):
        lines.append(f"  {'bucket':<23} {'submitted':>10} {'receipts':>10} {'delivered':>10} {'success':>8}")
        for point in result["series"]:
            s = point["stats"]
            lines.append(f"  {point['begin']}→{point['end']}  {s['RequestSuccessCount']:>10,} "
                         f"{s['CallbackCount']:>10,} {s['CallbackSuccessCount']:>10,} "
                         f"{_pct(point['rates']['success_rate']):>8}")
    return "\n".join(lines)


def demo_environment(emulator_endpoint: str, public_url: str, lang: str = "en",
                     notify_urls: str = "") -> Dict[str, str]:
    """The settings of the offline demo: the emulator's credentials, three apps, a token, signed links.

    The emulator has no rate limit of its own, so the demo queries faster than the real API's 10/s.
    """
    from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY

    env = {
        "TENCENTCLOUD_SECRETID": SECRET_ID,
        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
        "SMS_ENDPOINT": emulator_endpoint,
        "SMS_SDK_APP_IDS": DEMO_APPS,
        "REPORT_LANG": lang,
        "API_TOKENS": DEMO_TOKEN,
        "PUBLIC_URL": public_url,
        "LINK_SECRET": DEMO_LINK_SECRET,
    }
    if notify_urls:
        env["NOTIFY_URLS"] = notify_urls
    return env


def _use_environment(env: Dict[str, str]) -> None:
    for key in list(os.environ):
        if key.startswith(_DEMO_PREFIXES):
            del os.environ[key]
    os.environ.update(env)


def demo_links(public_url: str, window: str = "last_30d") -> Dict[str, str]:
    """Signed dashboard links of the demo apps (all of them, then each), valid for a week."""
    from datetime import datetime, timezone

    from sms_receipt_stats.config import parse_app_ids
    from sms_receipt_stats.links import dashboard_link

    apps, _ = parse_app_ids(DEMO_APPS)
    now = datetime.now(timezone.utc)
    made = {"all apps": dashboard_link(public_url, DEMO_LINK_SECRET, app_ids=[a.app_id for a in apps],
                                       window=window, now=now)}
    for app in apps:
        made[app.name or app.app_id] = dashboard_link(public_url, DEMO_LINK_SECRET, app_ids=[app.app_id],
                                                      window=window, now=now)
    return made


# -- commands ------------------------------------------------------------------------------------

def cmd_emulator(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev.emulator import serve

    errors = dict(item.split("=", 1) for item in args.fail or [] if "=" in item)
    serve(port=args.port, host=args.host, rate_limit=args.rps or None, latency=args.latency, errors=errors)
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev import samples

    if args.event == "timer":
        event: Any = samples.timer_event(args.message)
    elif args.event == "apigw":
        query = dict(parse_qsl(args.query or "", keep_blank_values=True))
        event = samples.apigw_event(query, token=args.token, method=args.method, path=args.path)
    else:
        try:
            event = json.loads(Path(args.event).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"invoke: cannot read event file {args.event}: {exc.__class__.__name__}", file=sys.stderr)
            return 2
        if args.message is not None and isinstance(event, dict):
            event["Message"] = args.message
    context = {"request_id": "local-invoke", "time_limit_in_ms": int(args.timeout * 1000),
               "memory_limit_in_mb": 128, "function_name": "sms-receipt-stats"}
    _print_json(load_main_handler()(event, context))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from sms_receipt_stats.config import APP_ID_PATTERN, App, load_settings
    from sms_receipt_stats.jobs import JobDeps, make_querier, query_apps
    from sms_receipt_stats.windows import WindowError, resolve_window

    settings, issues = load_settings(os.environ)
    for issue in issues:
        print(f"config: {issue}", file=sys.stderr)
    if not APP_ID_PATTERN.match(args.app_id):
        print("query: --app-id must be an SmsSdkAppId of 10 digits", file=sys.stderr)
        return 2
    if bool(args.window) == bool(args.begin or args.end) or (not args.window and not (args.begin and args.end)):
        print("query: give --window NAME, or --begin and --end (yyyymmddhh)", file=sys.stderr)
        return 2
    spec: Any = args.window or {"begin": args.begin, "end": args.end}
    try:
        window = resolve_window(spec, datetime.now(timezone.utc), settings.timezone, args.granularity)
    except WindowError as exc:
        print(f"query: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    app = next((a for a in settings.apps if a.app_id == args.app_id), App(app_id=args.app_id))
    deps = JobDeps()
    try:
        querier = make_querier(settings, deps, None)
    except Exception as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    result = query_apps([app], window, args.granularity, querier, settings.lang)[0].model_dump(mode="json")
    if args.json:
        _print_json(result)
    else:
        print(format_table(result))
    return 1 if result.get("error") else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.doctor import format_checks, run_doctor, summarize
    from sms_receipt_stats.jobs import JobDeps
    from sms_receipt_stats.redaction import prepare, redact

    settings, issues = load_settings(os.environ)
    deps = JobDeps()
    deadline = deps.monotonic() + args.time_limit if args.time_limit else None
    checks = run_doctor(settings, issues, fetcher_factory=deps.fetcher_factory, now=datetime.now(timezone.utc),
                        server_time=deps.server_time, deliver=deps.deliver, send_test=args.send_test,
                        deadline=deadline, monotonic=deps.monotonic)
    summary = summarize(checks)
    secrets = prepare(settings.secret_values())
    if args.json:
        _print_json(redact({**summary.as_dict(), "checks": [c.model_dump(mode="json") for c in checks]}, secrets))
    else:
        print(redact(format_checks(checks), secrets))
    # 0 healthy, 1 a check failed, 3 nothing failed but the essentials did not run (not verified)
    return 0 if summary.ok else (1 if summary.failed else 3)
def cmd_silence(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev.state_cli import run_silence

    return run_silence(args)


def cmd_backtest(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev.backtest.command import run

    return run(args)


def cmd_package(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev.package import build_package

    return build_package(python=args.python, output=args.output, bytecode=not args.no_bytecode)


def cmd_demo(args: argparse.Namespace) -> int:
    import logging

    from sms_receipt_stats import log
    from sms_receipt_stats.dev import samples
    from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
    from sms_receipt_stats.dev.emulator import Emulator
    from sms_receipt_stats.dev.receiver import Receiver
    from sms_receipt_stats.dev.serve import function_url_event

    log.configure()
    logging.getLogger(log.LOGGER_NAME).setLevel(logging.WARNING)  # the demo prints its own summary
    public_url = f"http://127.0.0.1:{DEMO_SERVE_PORT}"
    with Emulator() as emulator, Receiver() as chat, \
            CmqDataflowFake(secret_id=emulator.secret_id, secret_key=emulator.secret_key,
                            queues=("sms-reports",)) as cmq:
        notify = (f"wecom+{chat.url}/cgi-bin/webhook/send?key=demo-wecom-key,"
                  f"cmq://queue/sms-reports#endpoint={cmq.address}")
        _use_environment(demo_environment(emulator.endpoint, public_url, args.lang, notify))
        main_handler = load_main_handler()
        context = {"request_id": "demo", "time_limit_in_ms": 30_000, "memory_limit_in_mb": 128}

        print("sms-receipt-stats demo — offline: a local SMS API emulator, a local chat robot and a local "
              "CMQ (data-flow API) queue")
        run_dir = Path(tempfile.mkdtemp(prefix="sms-receipt-stats-demo-"))  # per run: no other run overwrites it
        print(f"files of this run: {run_dir}\n")
        print(f"1) Timer trigger (daily report, window 'yesterday') for {DEMO_APPS}")
        doc = main_handler(samples.timer_event(), context)
        for result in doc["results"]:
            rates = result.get("rates") or {}
            stats = result.get("stats") or {}
            status = _demo_verdict(result, doc["alerts"])
            name = result.get("app_name") or ""
            print(f"   {name:<10} {result['app_id']}  submitted {stats.get('RequestSuccessCount', 0):>8,}"
                  f"  success {_pct(rates.get('success_rate')):>7}  delivery {_pct(rates.get('delivery_rate')):>7}"
                  f"  [{status}]")
        for alert in doc["alerts"]:
            print(f"   ALERT {alert['severity']}: {alert['message']}")
        for delivery in doc["deliveries"]:
            print(f"   delivered to {delivery['sink']}: ok={delivery['ok']} attempts={delivery['attempts']}"
                  + (f" error={delivery['error']}" if delivery.get("error") else ""))
        for err in doc["errors"]:
            print(f"   error: {err}")

        print("\n2) What the WeCom group chat received:")
        for item in chat.received:
            payload = item.json or {}
            content = (payload.get("markdown") or {}).get("content") or (payload.get("text") or {}).get("content")
            print("   " + (content or item.body.decode("utf-8", "replace")).replace("\n", "\n   "))
        queued = cmq.messages
        print(f"\n3) What a queue consumer received ({len(queued)} message(s) on CMQ) through the data-flow "
              "API's SendMessage:")
        for message in queued:
            print(f"   {message['name']}: {message['body'][:160]}…")

        lookup = "/stats?app_id=1400006874&window=last_24h"
        print(f"\n4) HTTP lookup through the function URL (HTTP trigger): GET {lookup}")
        response = main_handler(function_url_event("GET", lookup, {"Authorization": f"Bearer {DEMO_TOKEN}"}, b""),
                                context)
        print(f"   HTTP {response['statusCode']}")
        body = json.loads(response["body"])
        print("   " + format_table(body).replace("\n", "\n   ") if response["statusCode"] == 200
              else "   " + json.dumps(body, ensure_ascii=False))
        print("\n5) The same lookup without a token:")
        denied = main_handler(function_url_event("GET", lookup, {}, b""), context)
        print(f"   HTTP {denied['statusCode']} {denied['body']}")

        print("\n6) The dashboard through a function URL: GET /dashboard (every app, last 30 days)")
        event = function_url_event("GET", f"/dashboard?lang={args.lang}", {"Authorization": f"Bearer {DEMO_TOKEN}"},
                                   b"")
        page = main_handler(event, context)
        target = Path(args.dashboard).expanduser().resolve() if args.dashboard else run_dir / "dashboard.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page["body"], encoding="utf-8")
        print(f"   HTTP {page['statusCode']} {page['headers'].get('Content-Type')}, {len(page['body']):,} characters")
        print(f"   written to {target}  (open it in a browser: {target.as_uri()})")
        print("   See it live: run `sms-receipt-stats serve --emulator`, then open the chat's 📈 link above, or")
        print(f"   {demo_links(public_url)['all apps']}")

        ok = (bool(doc["results"]) and response["statusCode"] == 200 and denied["statusCode"] == 401
              and page["statusCode"] == 200)
        ok = _demo_lifecycle(emulator, chat, main_handler, context, run_dir) and ok
        from sms_receipt_stats.dev.receipts_cli import demo_receipts

        ok = demo_receipts(main_handler, context, run_dir) and ok
        print("\ndemo finished: " + ("OK" if ok else "something went wrong (see above)"))
        return 0 if ok else 1


#: what `serve --emulator` always replaces: the API it talks to and the credentials the emulator checks
_EMULATOR_OWNED = ("SMS_ENDPOINT", "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN",
                   "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")


def serve_environment(current: Dict[str, str], emulator_endpoint: str, public_url: str) -> Dict[str, str]:
    """The environment of `serve --emulator`: the user's own, pointed at the emulator.

    SMS_ENDPOINT and the credentials become the emulator's (it checks TC3 signatures with its
    own keys); every other variable the user set (STATE_URL, SMS_SDK_APP_IDS, API_TOKENS,
    LINK_SECRET, ...) is kept; what is unset comes from the demo settings.
    """
    env = {k: v for k, v in current.items() if k not in _EMULATOR_OWNED}
    for key, value in demo_environment(emulator_endpoint, public_url).items():
        if key in _EMULATOR_OWNED or not env.get(key, "").strip():
            env[key] = value
    return env


def _serve_links(public_url: str, env: Dict[str, str], window: str = "last_30d") -> Dict[str, str]:
    """Signed dashboard links for the apps and LINK_SECRET `serve` runs with."""
    from datetime import datetime, timezone

    from sms_receipt_stats.config import parse_app_ids
    from sms_receipt_stats.links import dashboard_link

    apps, _ = parse_app_ids(env.get("SMS_SDK_APP_IDS", ""))
    secret, now = env.get("LINK_SECRET", ""), datetime.now(timezone.utc)
    if not apps or not secret:
        return {}
    made = {"all apps": dashboard_link(public_url, secret, app_ids=[a.app_id for a in apps], window=window, now=now)}
    for app in apps:
        made[app.name or app.app_id] = dashboard_link(public_url, secret, app_ids=[app.app_id], window=window, now=now)
    return made


def _demo_verdict(result: Dict[str, Any], alerts: Sequence[Dict[str, Any]]) -> str:
    """The app's mark in the demo's table: the alert rules' verdict (the worst firing alert's
    severity, or the error code), `ok` only when no rule fired for it."""
    if result.get("error"):
        return str(result["error"]["code"])
    mine = [a["severity"] for a in alerts if a.get("app_id") == result["app_id"] and a.get("status") != "resolved"]
    from sms_receipt_stats.vocabulary import SEVERITIES

    for severity in reversed(SEVERITIES):
        if severity in mine:
            return severity.upper()
    return "ok"


def cmd_serve(args: argparse.Namespace) -> int:
    from sms_receipt_stats.dev.serve import FunctionUrlServer

    emulator = None
    if args.emulator:
        from sms_receipt_stats.dev.emulator import Emulator

        emulator = Emulator().start()
    server = FunctionUrlServer(load_main_handler(), args.host, args.port, args.timeout,
                               log=lambda line: print(line, file=sys.stderr, flush=True))
    server.start()
    try:
        if emulator is not None:
            env = serve_environment(dict(os.environ), emulator.endpoint, server.endpoint)
            os.environ.clear()
            os.environ.update(env)
        print(f"serving main_handler on {server.endpoint} (function URL events; Ctrl-C to stop)", flush=True)
        if emulator is not None:
            kept = "STATE_URL kept" if os.environ.get("STATE_URL") else "stateless (STATE_URL unset)"
            print(f"with the built-in emulator at {emulator.endpoint}; your settings kept, unset ones from the "
                  f"demo; {kept}; dashboards:")
            for name, url in _serve_links(server.endpoint, dict(os.environ)).items():
                print(f"  {name}: {url}")
            token = DEMO_TOKEN if os.environ.get("API_TOKENS") == DEMO_TOKEN else "<one of API_TOKENS>"
            print(f"  with a token: curl -H 'Authorization: Bearer {token}' {server.endpoint}/dashboard",
                  flush=True)
        else:
            print(f"  e.g. {server.endpoint}/health, {server.endpoint}/stats?app_id=…&window=yesterday "
                  "(Authorization: Bearer …), /dashboard", flush=True)
        from sms_receipt_stats.dev.foreground import run_until_stopped

        run_until_stopped()
        return 0
    finally:
        server.stop()
        if emulator is not None:
            emulator.stop()


def _chat_lines(items: Sequence[Any]) -> List[str]:
    lines: List[str] = []
    for item in items:
        payload = item.json or {}
        content = (payload.get("markdown") or {}).get("content") or (payload.get("text") or {}).get("content") or ""
        lines.extend(line for line in content.splitlines() if "RESOLVED" in line or "CRITICAL" in line
                     or "已恢复" in line or "严重" in line)
    return lines


def _demo_lifecycle(emulator: Any, chat: Any, main_handler: Callable[[Any, Any], Any],
                    context: Dict[str, Any], run_dir: Path) -> bool:
    """Four hourly checks of one app with a SQLite state store (in the run's own directory):
    alert, quiet, still held after one clear hour, resolved after the second (docs/alerts.md);
    then a replay. Each check runs on the clock it would have had: a few minutes after the hour
    it checks (as an hourly timer fires), so an alert's `since` follows the hour that raised it."""
    from datetime import datetime, timedelta, timezone

    from sms_receipt_stats.app import handle
    from sms_receipt_stats.dev import samples
    from sms_receipt_stats.jobs import JobDeps
    from sms_receipt_stats.windows import current_hour

    def _stopped_clock(moment: datetime) -> Callable[[], datetime]:
        return lambda: moment

    app = DEMO_APPS.split(",")[0].split("=")[0]
    # the run's directory is fresh: no state of an earlier run is in it
    state_url = f"sqlite:///{run_dir / 'state.db'}"
    os.environ["STATE_URL"] = state_url
    try:
        print(f"\n7) Alert lifecycle with a state store (STATE_URL={state_url}), hourly checks of {app}")
        hour = current_hour(datetime.now(timezone.utc), "Asia/Shanghai")
        fmt = "%Y%m%d%H"
        steps = [
            ("the account falls into arrears (emulator: injected error)", True),
            ("an hour later, still in arrears", True),
            ("the account is topped up (emulator: error removed): one clear hour is not proof yet", False),
            ("a second clear hour", False),
        ]
        seen: List[Dict[str, Any]] = []
        last_event: Dict[str, Any] = {}
        for index, (what, failing) in enumerate(steps):
            if failing:
                emulator.inject_error(app, "UnauthorizedOperation.ServiceSuspendDueToArrears", "arrears (demo)")
            else:
                emulator.reset_faults()
            # the last check is of the hour before the current one, so its clock is never ahead of now
            begin = hour - timedelta(hours=len(steps) + 1 - index)
            run_at = begin + timedelta(hours=1, minutes=5)
            message = {"job": "check", "app_ids": [app],
                       "window": {"begin": begin.strftime(fmt), "end": (begin + timedelta(hours=1)).strftime(fmt)}}
            last_event = dict(samples.timer_event(json.dumps(message)), TriggerName="hourly-check",
                              Time=run_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            before = len(chat.received)
            doc = handle(last_event, context, deps=JobDeps(now=_stopped_clock(run_at.astimezone(timezone.utc))))
            heard = _chat_lines(chat.received[before:])
            alerts = [a for a in doc["alerts"] if a.get("app_id") == app]
            seen.append({"alerts": alerts, "heard": heard})
            print(f"   {chr(97 + index)}) {what}: check {begin:%H}:00-{begin + timedelta(hours=1):%H}:00 "
                  f"at {run_at:%H:%M}")
            for a in alerts:
                print(f"      alert {a['rule']} {a.get('code') or ''} status={a.get('status')} "
                      f"since={a.get('since')} notified={a.get('notified')}")
            print("      chat: " + (" | ".join(heard) if heard else "(nothing: quiet)"))
        before = len(chat.received)
        replay = main_handler(last_event, context)
        print(f"   {chr(97 + len(steps))}) SCF delivers the last timer event again: "
              f"replayed={replay.get('replayed')}, chat got {len(chat.received) - before} new message(s)")
    finally:
        os.environ.pop("STATE_URL", None)
        emulator.reset_faults()
    a, b, c, d = seen
    return (len(a["alerts"]) == 1 and a["alerts"][0].get("notified") is True and bool(a["heard"])
            and len(b["alerts"]) == 1 and b["alerts"][0].get("notified") is False and not b["heard"]
            and [x.get("status") for x in c["alerts"]] == ["firing"] and not c["heard"]
            and any(x.get("status") == "resolved" and x.get("notified") for x in d["alerts"]) and bool(d["heard"])
            and replay.get("replayed") is True and len(chat.received) == before)


def build_parser() -> argparse.ArgumentParser:
    from sms_receipt_stats.vocabulary import DEFAULT_LANG, GRANULARITIES, LANGS

    parser = argparse.ArgumentParser(prog="sms-receipt-stats", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the whole flow offline: emulator, timer report, chat, HTTP lookup")
    demo.add_argument("--lang", choices=LANGS, default=DEFAULT_LANG)
    demo.add_argument("--dashboard", default=None,
                      help="where to write the dashboard page the demo renders "
                           "(default: dashboard.html in a fresh temporary directory per run)")
    demo.set_defaults(func=cmd_demo)

    srv = sub.add_parser("serve", help="main_handler behind a local HTTP server (function URL events)")
    srv.add_argument("--port", type=int, default=DEMO_SERVE_PORT, help="0 picks a free port")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--timeout", type=float, default=30.0, help="the SCF time limit to simulate, seconds")
    srv.add_argument("--emulator", action="store_true",
                     help="start the built-in SMS API emulator and use the demo's settings (offline)")
    srv.set_defaults(func=cmd_serve)

    emu = sub.add_parser("emulator", help="serve the local emulator of the SMS (and CMQ) API")
    emu.add_argument("--port", type=int, default=8080)
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--rps", type=int, default=10, help="answer RequestLimitExceeded above this rate (0 = off)")
    emu.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    emu.add_argument("--fail", action="append", metavar="APPID=CODE", help="answer CODE for APPID (repeatable)")
    emu.set_defaults(func=cmd_emulator)

    inv = sub.add_parser("invoke", help="run main_handler on an event and print what it returns")
    inv.add_argument("event", help="timer, apigw, or a path to an event JSON file")
    inv.add_argument("--message", help="timer Message (JSON), e.g. '{\"job\": \"check\", \"window\": \"last_hour\"}'")
    inv.add_argument("--query", help="apigw query string, e.g. 'app_id=1400006874&window=yesterday'")
    inv.add_argument("--token", help="apigw bearer token")
    inv.add_argument("--method", default="GET")
    inv.add_argument("--path", default="/release/stats")
    inv.add_argument("--timeout", type=float, default=30.0, help="the SCF time limit to simulate, seconds")
    inv.set_defaults(func=cmd_invoke)

    q = sub.add_parser("query", help="look up one app's receipt statistics from the terminal")
    q.add_argument("--app-id", required=True)
    q.add_argument("--window")
    q.add_argument("--begin")
    q.add_argument("--end")
    q.add_argument("--granularity", choices=GRANULARITIES, default="total")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_query)

    doc = sub.add_parser("doctor", help="check a real setup: credentials, endpoint, clock, permissions, hour "
                                        "rule, sinks, state store (exit 0 only when all pass; 1 when a check "
                                        "failed; 3 when the essentials were skipped: not verified)")
    doc.add_argument("--send-test", action="store_true", help="also deliver a test message to every sink")
    doc.add_argument("--json", action="store_true")
    doc.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                     help="finish within this many seconds, like the function's time limit (default: none)")
    doc.set_defaults(func=cmd_doctor)
    from sms_receipt_stats.dev.state_cli import add_silence_parser

    add_silence_parser(sub, cmd_silence)
    from sms_receipt_stats.dev.backtest.command import add_parser as add_backtest_parser

    add_backtest_parser(sub, cmd_backtest)
    from sms_receipt_stats.dev.receipts_cli import add_parsers as add_receipts_parsers

    add_receipts_parsers(sub)

    pkg = sub.add_parser("package", help="build the SCF deployment zip")
    pkg.add_argument("--python", default="3.10")
    pkg.add_argument("--output", default=None)
    pkg.add_argument("--no-bytecode", action="store_true",
                     help="ship sources only (every cold start then compiles what it imports)")
    pkg.set_defaults(func=cmd_package)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from sms_receipt_stats import log

    log.configure(stream=sys.stderr)  # stdout carries the command's own output (JSON, tables)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head` closed our stdout: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug answers one line, never a traceback (nor a value it might quote)
        print(f"sms-receipt-stats {args.command}: unexpected failure ({type(exc).__name__}); "
              "please report it with the command you ran", file=sys.stderr)
        return 1


