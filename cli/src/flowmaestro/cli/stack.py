"""`flowmaestro up`: embedded NATS, topology, and supervised service processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from flowmaestro.runtime import EmbeddedNats, free_port, state_dir
from flowmaestro.runtime.embedded import die_with_parent

__all__ = ["StackNotFoundError", "find_database_url", "find_nats_url", "up"]

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


def find_database_url() -> str:
    """The read model's database: `FLOWMAESTRO_DATABASE_URL`, or the running stack's."""
    if url := os.environ.get("FLOWMAESTRO_DATABASE_URL"):
        return url
    path = state_dir() / STACK_FILE
    try:
        return json.loads(path.read_text())["database_url"]
    except (OSError, ValueError, KeyError):
        raise StackNotFoundError(
            f"no running stack found in {path.parent}; start one with `flowmaestro up` "
            "or set FLOWMAESTRO_DATABASE_URL"
        ) from None


def _spawn(
    role: str, nats_url: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log_file = open(home / f"{role}.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "flowmaestro.cli.main", "--nats", nats_url, role],
        stdout=log_file,
        stderr=log_file,
        preexec_fn=die_with_parent,
        env={**os.environ, **(env or {})},
    )


def _start_database(home: Path) -> tuple[str, Any]:
    """`FLOWMAESTRO_DATABASE_URL`, or an embedded PostgreSQL under the state folder."""
    if url := os.environ.get("FLOWMAESTRO_DATABASE_URL"):
        return url, None
    from pgserver.postgres_server import get_server

    server = get_server(home / "postgres", cleanup_mode="stop")
    return server.get_uri(), server


def _gateway_port() -> int:
    if port := os.environ.get("FLOWMAESTRO_GATEWAY_PORT"):
        return int(port)
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", 8000)) != 0:
            return 8000
    return free_port()


def _wait_for_http(url: str, child: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _prepare_gateway(nats_url: str, home: Path) -> tuple[dict[str, str], str, Any]:
    """Database up and migrated, settings checked, dev user made; env for the child."""
    import asyncio

    from flowmaestro.gateway import GatewaySettings
    from flowmaestro.gateway.commands import ensure_dev_user, migrate_database
    from flowmaestro.gateway.config import DEV_USER_EMAIL, DEV_USER_PASSWORD

    # production refuses the default JWT secret before the database starts
    GatewaySettings.from_env(nats_url, "postgresql://unchecked").check()
    database_url, database = _start_database(home)
    port = _gateway_port()
    env = {"FLOWMAESTRO_DATABASE_URL": database_url, "FLOWMAESTRO_GATEWAY_PORT": str(port)}
    settings = GatewaySettings.from_env(nats_url, database_url)
    asyncio.run(migrate_database(database_url))
    if not settings.production:
        asyncio.run(ensure_dev_user(database_url))
        print(f"Development user: {DEV_USER_EMAIL} / {DEV_USER_PASSWORD}", flush=True)
    return env, f"http://{settings.host}:{port}", database


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
    try:
        gateway_env, gateway_url, database = _prepare_gateway(nats_url, home)
    except Exception:
        if server is not None:
            server.stop()
        raise
    (home / STACK_FILE).write_text(
        json.dumps(
            {
                "nats_url": nats_url,
                "database_url": gateway_env["FLOWMAESTRO_DATABASE_URL"],
                "gateway_url": gateway_url,
                "pid": os.getpid(),
            }
        )
    )

    stopping = False

    def request_stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    roles = ("scheduler", "executors", "gateway")
    children = {role: _spawn(role, nats_url, home, gateway_env) for role in roles}
    if not _wait_for_http(gateway_url, children["gateway"]):
        print(f"the gateway did not start; see {home}/gateway.log", flush=True)
    print(
        f"FlowMaestro is ready: {gateway_url} (NATS {nats_url}; state in {home}; "
        f"logs in {home}/*.log)",
        flush=True,
    )
    try:
        while not stopping:
            time.sleep(0.2)
            for role, child in children.items():
                if child.poll() is not None and not stopping:
                    print(f"{role} exited with {child.returncode}; restarting", flush=True)
                    time.sleep(1.0)
                    children[role] = _spawn(role, nats_url, home, gateway_env)
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
        if database is not None:
            database.cleanup()
        (home / STACK_FILE).unlink(missing_ok=True)
        print("FlowMaestro stopped.", flush=True)
    return 0
