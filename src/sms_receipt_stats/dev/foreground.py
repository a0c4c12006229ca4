"""The local servers' foreground loop (`serve`, `emulator`, the CMQ fake): until Ctrl-C or SIGTERM.

SIGTERM is what a process manager, a container or a script's `kill` sends; a process started in
the background of a non-interactive shell even has SIGINT ignored, so Ctrl-C alone would leave
such a server running for good.
"""

from __future__ import annotations

import signal
import time
from typing import Any, Callable, Optional


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_until_stopped(sleep: Optional[Callable[[float], None]] = None) -> None:
    """Block until Ctrl-C (KeyboardInterrupt) or SIGTERM; returns so the caller's cleanup runs.
    `sleep` is looked up at each turn (default `time.sleep`), as the loop it replaces did."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            (sleep or time.sleep)(0.5)
    except KeyboardInterrupt:
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
