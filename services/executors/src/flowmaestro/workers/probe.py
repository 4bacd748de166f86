"""A task module for checking a worker pool itself: echo, sleep, allocate, crash.

Only pools built for tests and benchmarks load it; no node reaches it.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from flowmaestro.workers import TaskFailed

__all__ = ["handle"]


def handle(payload: dict[str, Any]) -> Any:
    """Do what `payload["do"]` says and answer `payload.get("value")`."""
    action = payload.get("do", "echo")
    if action == "sleep":
        time.sleep(float(payload["seconds"]))
    elif action == "spin":
        while True:
            pass
    elif action == "allocate":
        hold = bytearray(int(payload["bytes"]))
        hold[::4096] = b"x" * len(hold[::4096])  # touch every page, so it is resident
    elif action == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "fail":
        raise TaskFailed(str(payload["kind"]), str(payload["message"]))
    elif action == "pid":
        return os.getpid()
    return payload.get("value")
