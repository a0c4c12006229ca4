"""The receipt status codes: what the `errmsg` of a pushed receipt means, and who must act.

The entries are data, `codes.json` beside this module, read on first use. Each code has a
`category` (number_invalid, powered_off, carrier_blocked, carrier_error, content_blocked,
blacklist, frequency_limit, unknown; `delivered` for DELIVRD), a `cause` (`sender`: our
template, signature, content or sending pattern; `recipient`: the number or handset;
`carrier`; `unknown`), a meaning and an action in en and zh, and its source:

* Tencent's own receipt values (intl.cloud.tencent.com/document/product/382/35462, the table of
  receipt field values: DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, SUBFAIL, UNKNOWN, COMFAIL,
  WTNFAIL).
* Tencent's table of receipt status error codes ("状态回执错误码", columns 错误码 / 分类 / 说明) on the
  SMS error-code page, cloud.tencent.com/document/product/382/3771, where the callback's page
  (382/43547, "errmsg") and the API 3.0 error codes (382/59177) send a reader. Checked 2026-12: only
  the table's first rows could be read, `-106` (三网: 运营商关键字拦截) and `002` (三网: 关机/停机/无法接通
  手机/不在服务区); both are here with that source, in the words of the table. Its later rows (from
  `004`) could not be read, and Tencent says carriers change these codes without notice, so
* carriers' gateway codes come from the carriers' tables as SMS aggregators republish them
  (mysubmail.com/documents/1XQAE4, anxin163.com/news_view.asp?id=78), and the CMPP 3.0 message
  states (ACCEPTD). Each entry names its source; none of them contradicts the Tencent rows read.

`families` cover China Mobile/Unicom gateway codes by prefix (MK:xxxx, MN:xxxx, MI:xxxx,
LT:xxxx: number problems, per the same tables). Any other code is unknown: shown raw, counted,
category `unknown`, meaning None.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Optional, Sequence, Tuple

from sms_receipt_stats.vocabulary import LANGS

DATA_FILE = "codes.json"


@dataclass(frozen=True)
class ReceiptCode:
    code: str
    category: str
    cause: str
    meaning: Optional[Dict[str, str]]
    action: Optional[Dict[str, str]]
    source: Optional[str]
    #: matched by its prefix only (`MK:`), not listed itself
    family: bool = False

    @property
    def known(self) -> bool:
        return self.meaning is not None

    def meaning_in(self, lang: str) -> Optional[str]:
        if self.meaning is None:
            return None
        return self.meaning.get(lang) or self.meaning.get("en")

    def action_in(self, lang: str) -> Optional[str]:
        if self.action is None:
            return None
        return self.action.get(lang) or self.action.get("en")


@dataclass(frozen=True)
class Codes:
    categories: Tuple[str, ...]
    causes: Tuple[str, ...]
    codes: Dict[str, ReceiptCode]
    families: Dict[str, ReceiptCode]

    def lookup(self, code: str) -> ReceiptCode:
        """The entry of `code`: listed (exact, then upper case), by family prefix, else unknown."""
        found = self.codes.get(code) or self.codes.get(code.upper())
        if found is not None:
            return found
        for prefix, entry in self.families.items():
            if code.upper().startswith(prefix):
                return ReceiptCode(code, entry.category, entry.cause, entry.meaning, entry.action, entry.source,
                                   family=True)
        return ReceiptCode(code, "unknown", "unknown", None, None, None)


class CodesError(ValueError):
    """`codes.json` is malformed (a packaging or editing mistake), naming the entry."""


def parse(text: str) -> Codes:
    data = json.loads(text)
    categories, causes = tuple(data["categories"]), tuple(data["causes"])

    def entry(code: str, raw: Dict[str, object]) -> ReceiptCode:
        meaning, action = raw.get("meaning"), raw.get("action")
        if raw.get("category") not in categories or raw.get("cause") not in causes:
            raise CodesError(f"{DATA_FILE}: {code}: category or cause not declared")
        if not (isinstance(meaning, dict) and isinstance(action, dict)
                and all(isinstance(t.get(lang), str) and t[lang] for t in (meaning, action) for lang in LANGS)):
            raise CodesError(f"{DATA_FILE}: {code}: meaning and action need every language ({', '.join(LANGS)})")
        return ReceiptCode(code, str(raw["category"]), str(raw["cause"]), dict(meaning), dict(action),
                           str(raw.get("source") or ""))

    return Codes(categories, causes, {c: entry(c, raw) for c, raw in data["codes"].items()},
                 {p: entry(p, raw) for p, raw in data["families"].items()})


@lru_cache(maxsize=1)
def load() -> Codes:
    """The codes shipped in the package, read once (through the module's loader: zip or wheel alike)."""
    path = os.path.join(os.path.dirname(__file__), DATA_FILE)
    get_data = getattr(__spec__.loader, "get_data", None)
    if get_data is not None:
        raw = bytes(get_data(path))
    else:  # pragma: no cover - every loader CPython ships has get_data
        with open(path, "rb") as fh:
            raw = fh.read()
    return parse(raw.decode("utf-8"))


def lookup(code: str) -> ReceiptCode:
    return load().lookup(code)


#: an alert message names at most this many failing codes; a meaning is cut to NOTE_MEANING_MAX characters
NOTE_TOP = 3
NOTE_MEANING_MAX = 80


def top_failing(receipt_codes: Sequence[Any], top: int = NOTE_TOP) -> str:
    """`DB:0141 ×120 (China Mobile: the number is on …), ZZ:9 ×4, +2 more`: the first `top` of an
    app result's `receipt_codes` (most first) as plain text, a code the catalogue does not know
    shown raw; empty when there is none. Alert messages carry it (webhook and queue consumers)."""
    from sms_receipt_stats.text import shorten

    codes = [c for c in receipt_codes if c.count > 0]
    parts = []
    for c in codes[:top]:
        part = f"{shorten(c.code, 64)} ×{c.count:,}"
        if c.meaning:
            part += f" ({shorten(c.meaning.rstrip('.。'), NOTE_MEANING_MAX)})"
        parts.append(part)
    if len(codes) > top:
        parts.append(f"+{len(codes) - top}")
    return ", ".join(parts)
