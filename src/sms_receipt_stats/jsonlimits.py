"""JSON from outside with its nesting bounded before anything walks it.

CPython's json decoder, pydantic and every recursive walk go one stack frame deeper per
nesting level; a 2 KB body of `[[[[…` reaches the interpreter's recursion limit and would
surface as a RecursionError. Documents this function accepts (an HTTP body, a timer
`Message`) are two levels deep, so anything past `MAX_DEPTH` is refused up front: text
by a linear scan before `json.loads`, decoded values by an iterative walk.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, List, Tuple

#: deepest nesting accepted; far above any real request, far below the recursion limit
MAX_DEPTH = 32

#: the characters the depth scan has to look at: brackets, and what starts or escapes a string
_SIGNIFICANT = re.compile(r'[\[\]{}"\\]')


class JsonTooDeep(ValueError):
    """A JSON document nested deeper than the limit."""

    def __init__(self, limit: int = MAX_DEPTH):
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit


def text_depth(text: str, stop_after: int = -1) -> int:
    """Deepest bracket nesting of JSON `text` (brackets inside strings do not count).

    Stops early once the depth passes `stop_after` (when >= 0). Not a validator: invalid
    JSON gives some number and is left for `json.loads` to refuse.
    """
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for match in _SIGNIFICANT.finditer(text):
        pos = match.start()
        char = text[pos]
        if in_string:
            if pos == escaped_at:
                continue
            if char == "\\":
                escaped_at = pos + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if 0 <= stop_after < deepest:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def value_depth(value: Any, stop_after: int = -1) -> int:
    """Deepest nesting of dicts and lists in a decoded value, walked without recursion."""
    deepest = 0
    stack: List[Tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if 0 <= stop_after < deepest:
                break
        stack.extend((child, depth) for child in children)
    return deepest


def check_value(value: Any, limit: int = MAX_DEPTH) -> Any:
    """`value`, or JsonTooDeep when it is nested deeper than `limit`."""
    if value_depth(value, stop_after=limit) > limit:
        raise JsonTooDeep(limit)
    return value


def loads(text: str, limit: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses documents nested deeper than `limit` (JsonTooDeep) before
    decoding; other invalid JSON raises ValueError as usual."""
    if text_depth(text, stop_after=limit) > limit:
        raise JsonTooDeep(limit)
    try:
        return json.loads(text)
    except RecursionError:  # not reachable within the limit; kept so no input can become a 500
        raise JsonTooDeep(limit) from None
