"""Finding and stopping processes a stack left behind, by pid and what they run."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["alive", "stop", "stop_postgres"]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int | None, marker: str) -> bool:
    """True when `pid` runs and its command line names `marker` (a recycled pid does not)."""
    if not pid or pid == os.getpid():
        return False
    state = ""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in _cmdline(pid)


def _wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            return True
        time.sleep(0.05)
    return False


def stop(
    pid: int | None, marker: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0
) -> bool:
    """Signal `pid` (if it still runs `marker`), wait, then kill it; True when it ran."""
    if pid is None or not alive(pid, marker):
        return False
    try:
        os.kill(pid, sig)
        if not _wait_gone(pid, marker, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, marker, 5.0)
    except ProcessLookupError:
        pass
    return True


def stop_postgres(data_dir: Path) -> int | None:
    """Stop the PostgreSQL serving `data_dir` (fast shutdown); returns its pid if it ran."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if stop(pid, "postgres", signal.SIGINT, timeout=15.0) else None
