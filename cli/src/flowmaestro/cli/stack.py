"""`flowmaestro up`: embedded NATS, topology, and supervised service processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flowmaestro.runtime import EmbeddedNats, state_dir
from flowmaestro.runtime.embedded import die_with_parent

__all__ = ["StackNotFoundError", "find_nats_url", "up"]

STACK_FILE = "stack.json"


class StackNotFoundError(Exception):
    """No running stack and no `FLOWMAESTRO_NATS_URL`."""


def find_nats_url(explicit: str | None = None) -> str:
    """The NATS URL: given, `FLOWMAESTRO_NATS_URL`, or the running stack's state folder."""
    if explicit:
        return explicit
    if url := os.environ.get("FLOWMAESTRO_NATS_URL"):
        return url
    path = state_dir() / STACK_FILE
    try:
        return json.loads(path.read_text())["nats_url"]
    except (OSError, ValueError, KeyError):
        raise StackNotFoundError(
            f"no running stack found in {path.parent}; start one with `flowmaestro up` "
            "or set FLOWMAESTRO_NATS_URL"
        ) from None


def _spawn(role: str, nats_url: str, home: Path) -> subprocess.Popen[bytes]:
    log_file = open(home / f"{role}.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "flowmaestro.cli.main", "--nats", nats_url, role],
        stdout=log_file,
        stderr=log_file,
        preexec_fn=die_with_parent,
    )


def up(sync_always: bool = False) -> int:
    """Run the whole stack in the foreground until Ctrl-C; restart a service that dies."""
    import asyncio

    from flowmaestro.cli.services import prepare

    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    server: EmbeddedNats | None = None
    nats_url = os.environ.get("FLOWMAESTRO_NATS_URL")
    if not nats_url:
        server = EmbeddedNats(
            home / "nats", sync_always=sync_always, log_file=home / "nats-server.log"
        ).start()
        nats_url = server.url
    asyncio.run(prepare(nats_url))
    (home / STACK_FILE).write_text(json.dumps({"nats_url": nats_url, "pid": os.getpid()}))

    stopping = False

    def request_stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    roles = ("scheduler", "executors")
    children = {role: _spawn(role, nats_url, home) for role in roles}
    print(
        f"FlowMaestro is ready: NATS {nats_url} (state in {home}; logs in {home}/*.log)", flush=True
    )
    try:
        while not stopping:
            time.sleep(0.2)
            for role, child in children.items():
                if child.poll() is not None and not stopping:
                    print(f"{role} exited with {child.returncode}; restarting", flush=True)
                    time.sleep(1.0)
                    children[role] = _spawn(role, nats_url, home)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if server is not None:
            server.stop()
        (home / STACK_FILE).unlink(missing_ok=True)
        print("FlowMaestro stopped.", flush=True)
    return 0
