"""`sms-receipt-stats silence add|list|expire`: silences from the terminal, in the STATE_URL store."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from sms_receipt_stats.config import load_settings


def add_silence_parser(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    silence = sub.add_parser("silence", help="add, list or expire silences (needs STATE_URL)")
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="silence the alerts that match, for a while")
    add.add_argument("--app-id", help="match this SmsSdkAppId")
    add.add_argument("--rule", help="match this rule, e.g. api_error or success_rate_below")
    add.add_argument("--code", help="match this error code, e.g. UnauthorizedOperation.ServiceSuspendDueToArrears")
    until = add.add_mutually_exclusive_group(required=True)
    until.add_argument("--duration", help="how long from the start: 90s, 30m, 4h, 1d")
    until.add_argument("--ends-at", help="ISO 8601 with an offset, e.g. 2026-11-25T18:00:00+08:00")
    add.add_argument("--starts-at", help="ISO 8601 with an offset (default: now)")
    add.add_argument("--created-by", default=None, help="who (default: the login name)")
    add.add_argument("--comment", required=True, help="why: a ticket, an incident")
    add.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="the silences in force and the pending ones (with --all: expired "
                                              "too)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true")
    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("id")
    expire.add_argument("--json", action="store_true")
    silence.set_defaults(func=func)


#: a message naming a field of the body names the option that gave it
_FLAGS = (("matchers: give", "give --app-id, --rule or --code:"), ("matchers.app_id:", "--app-id:"),
          ("matchers.rule:", "--rule:"), ("matchers.code:", "--code:"), ("starts_at:", "--starts-at:"),
          ("ends_at:", "--ends-at:"), ("duration:", "--duration:"), ("created_by:", "--created-by:"),
          ("comment:", "--comment:"))


def _flags(message: str) -> str:
    for field, flag in _FLAGS:
        message = message.replace(field, flag)
    return message


def _err(message: str) -> int:
    print(f"silence: {message}", file=sys.stderr)
    return 2


def _line(doc: Dict[str, Any]) -> str:
    matchers = " ".join(f"{k}={v}" for k, v in doc["matchers"].items())
    if doc.get("scope"):  # made over HTTP: it binds only the apps its caller was allowed
        matchers += " scope=" + ",".join(doc["scope"])
    return (f"{doc['id']}  {doc['state']:<8} {doc['starts_at']} → {doc['ends_at']}  {matchers}  "
            f"by {doc['created_by']}: {doc['comment']}")


def _show(docs: List[Dict[str, Any]], as_json: bool, single: bool = False) -> None:
    if as_json:
        print(json.dumps(docs[0] if single else docs, ensure_ascii=False, indent=2))
    elif not docs:
        print("no silences")
    else:
        for doc in docs:
            print(_line(doc))


def run_silence(args: argparse.Namespace, now: Optional[datetime] = None) -> int:
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.silences import SilenceError, SilenceStore, check_matchers, new_silence

    settings, issues = load_settings(os.environ)
    for issue in issues:
        if issue.variable.startswith("STATE") or issue.variable == "SETTLE_HOURS":
            print(f"config: {issue}", file=sys.stderr)
    state = open_state(settings)
    if state is None:
        return _err("STATE_URL is not set: silences live in the state store (docs/state.md)")
    now = now or datetime.now(timezone.utc)
    silences = SilenceStore(state)
    try:
        if args.action == "list":
            # pending ones too (marked so): a silence made for tonight must be seen to exist
            shown = [s.to_doc(now, settings.timezone) for s in silences.list() if args.all or s.ends_at > now]
            if state.available:
                _show(shown, args.json)
        elif args.action == "expire":
            ended = silences.expire(args.id, now)
            if state.available:
                if ended is None:
                    return _err(f"no silence with id {args.id[:40]!r}")
                _show([ended.to_doc(now, settings.timezone)], args.json, single=True)
        else:
            matchers = {k: v for k, v in (("app_id", args.app_id), ("rule", args.rule), ("code", args.code)) if v}
            body: Dict[str, Any] = {"matchers": matchers, "created_by": args.created_by or _login(),
                                    "comment": args.comment, "starts_at": args.starts_at, "ends_at": args.ends_at,
                                    "duration": args.duration}
            silence = new_silence(body, now)
            refused, warnings = check_matchers(silence.matchers, settings)  # as the HTTP API judges them
            if refused:
                return _err(_flags("; ".join(refused)))
            for warning in warnings:
                print(f"silence: warning: {_flags(warning)}", file=sys.stderr)
            silence = silences.add(silence, now)
            if state.available:
                _show([silence.to_doc(now, settings.timezone)], args.json, single=True)
    except (SilenceError, ValueError) as exc:
        if state.available:
            return _err(_flags(str(exc)))
    finally:
        state.close()
    if not state.available:
        print(f"silence: the state store did not answer ({state.problem})", file=sys.stderr)
        return 1
    return 0


def _login() -> str:
    try:
        return getpass.getuser() or "cli"
    except Exception:  # no login name in a container: still a valid silence
        return "cli"
