"""Stopping the stack under load leaves nothing behind: each service's loops live in one
task group, so SIGTERM cancels them, the sandbox workers are closed, and every service
exits by itself (code 0) well before the supervisor would kill it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.test_up import EXAMPLES, _cli, _up

pytestmark = pytest.mark.integration

BUSY_JS = {
    "nodes": {
        "loop": {
            "id": "loop",
            "type": "code",
            "position": {"x": 0, "y": 0},
            "data": {"language": "javascript", "code": "while (true) {}", "time_limit_seconds": 30},
        }
    },
    "edges": [],
}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_under_load_stops_every_service_and_leaves_no_process(tmp_path: Path) -> None:
    home = tmp_path / "stack"
    up = _up(home)
    try:
        busy = tmp_path / "busy.json"
        busy.write_text(json.dumps(BUSY_JS))
        for _ in range(2):
            assert _cli(home, "run", str(busy), "--detach").returncode == 0
        for _ in range(5):  # waiting runs: in flight when the stack stops
            wait = str(EXAMPLES / "wait.json")
            assert _cli(home, "run", wait, "--input", "seconds=30", "--detach").returncode == 0
        stack = json.loads((home / "stack.json").read_text())
        executors = stack["services"]["executors"]
        deadline = time.monotonic() + 30
        while not _children(executors) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _children(executors), "the JavaScript runs have their workers"
        everything = _descendants(up.pid)
        services = set(stack["services"].values())
        assert services <= everything
        began = time.monotonic()
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
        took = time.monotonic() - began
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    for role in ("scheduler", "executors", "gateway"):
        assert f"{role} stopped (exit code 0)" in output, output
    assert took < 20, f"stopping took {took:.1f}s"
    left = sorted(pid for pid in everything if _alive(pid) and pid != os.getpid())
    assert left == [], f"still running after the stack stopped: {left}"
