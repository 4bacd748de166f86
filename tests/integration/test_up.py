"""`flowmaestro up`: starts the stack, survives kill -9, continues unfinished executions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWMAESTRO_NATS_URL"}
    return {**env, "FLOWMAESTRO_HOME": str(home)}


def _up(home: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowmaestro.cli.main", "up"],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "ready" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("flowmaestro up did not print its ready line")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowmaestro.cli.main", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_survives_kill_9_and_finishes_what_was_running(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = _up(home)
    stack = json.loads((home / "stack.json").read_text())
    started = _cli(home, "run", str(EXAMPLES / "wait.json"), "--input", "seconds=3", "--detach")
    assert started.returncode == 0, started.stderr
    execution_id = started.stdout.strip()
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(0.5)
    assert _cli(home, "--nats", stack["nats_url"], "executions").returncode != 0, (
        "the embedded nats-server should have died with the stack"
    )

    second = _up(home)
    try:
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline:
            listing = _cli(home, "executions")
            row = next((r for r in listing.stdout.splitlines() if r.startswith(execution_id)), "")
            status = row.split()[2] if row else ""
            if status == "completed":
                break
            time.sleep(0.3)
        assert status == "completed"
        replayed = _cli(home, "replay", execution_id)
        assert replayed.returncode == 0
        assert "reproduces every decision and the recorded outcome: completed" in replayed.stdout
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(30) == 0
    assert not (home / "stack.json").exists()
