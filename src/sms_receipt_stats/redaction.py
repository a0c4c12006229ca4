"""Defence in depth: no configured secret survives in anything the function emits.

Applied to the result document before it is delivered to the sinks and before it is
returned (or sent as an HTTP body). Besides whole secrets it masks a leading part of a
secret (8 characters or more): messages quote bad values cut to a few dozen characters,
so a secret pasted into the wrong variable shows up as its prefix, not whole. Secrets
that are URLs (a robot URL is its own secret) are matched whole only: their prefix is
`https://` plus a host, which every hint may contain.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Tuple

MASK = "***"
#: shortest secret prefix that is masked on its own
MIN_PREFIX = 8


def prepare(secrets: Iterable[str]) -> List[str]:
    """Distinct secrets of 4 characters or more, longest first (so no secret is masked half-way)."""
    return sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True)


def redact_text(text: str, secrets: List[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for secret in secrets:
        if "://" in secret or len(secret) <= MIN_PREFIX or secret[:MIN_PREFIX] not in text:
            continue
        size = len(secret) - 1
        while size >= MIN_PREFIX:
            if secret[:size] in text:
                text = text.replace(secret[:size], MASK)
                if secret[:MIN_PREFIX] not in text:
                    break
            size -= 1
    return text


def redact(value: Any, secrets: List[str]) -> Any:
    """`value` (JSON-like: str, dict, list, scalars) with every secret, or its prefix, masked.

    Walked with an explicit stack, so no nesting depth can make it raise.
    """
    if not secrets:
        return value
    root = [value]
    stack: List[Tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = redact_text(item, secrets)
        elif isinstance(item, dict):
            copy = dict(item)
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, (list, tuple)):
            copy_list = list(item)
            container[key] = copy_list
            stack.extend((copy_list, i) for i in range(len(copy_list)))
    return root[0]
