"""`flowmaestro up`: starts the stack, survives kill -9, continues unfinished executions."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWMAESTRO_NATS_URL"}
    return {**env, "FLOWMAESTRO_HOME": str(home)}


def _up(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.Popen[str]:
    """`flowmaestro up ARGS` in `home` (environment `env`, else the tests'), once it has
    printed its ready line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowmaestro.cli.main", "up", *args],
        env={**(env if env is not None else _env(home)), "FLOWMAESTRO_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("FlowMaestro is ready"):
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("flowmaestro up did not print its ready line:\n" + "".join(seen))


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowmaestro.cli.main", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _postgres_of(home: Path) -> list[int]:
    """Pids of PostgreSQL servers whose data folder is under `home`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "postgres" in cmdline and f"-D {home}" in cmdline:
                found.append(int(proc.name))
    return found


async def _session_facts(database_url: str) -> tuple[str, bool, str]:
    conn = await asyncpg.connect(database_url)
    try:
        user = await conn.fetchval("SELECT current_user")
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1", user)
        try:
            await conn.fetchval("SELECT pg_read_file('PG_VERSION')")
            files = "readable"
        except asyncpg.InsufficientPrivilegeError:
            files = "refused"
        return user, superuser, files
    finally:
        await conn.close()


def test_up_survives_kill_9_and_finishes_what_was_running(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = _up(home)
    stack = json.loads((home / "stack.json").read_text())
    # the gateway's database session: the application role, not a superuser
    assert asyncio.run(_session_facts(stack["database_url"])) == ("flowmaestro", False, "refused")
    for private in ("nats-credentials.json", "postgres-credentials.json"):
        assert (home / private).stat().st_mode & 0o777 == 0o600
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
    assert _postgres_of(home) == [], "the embedded PostgreSQL outlived `up`"


def test_up_runs_several_schedulers_that_share_the_executions(tmp_path: Path) -> None:
    home = tmp_path / "state"
    up = _up(home, "--schedulers", "2")
    try:
        stack = json.loads((home / "stack.json").read_text())
        schedulers = {k: v for k, v in stack["services"].items() if k.startswith("scheduler")}
        assert set(schedulers) == {"scheduler", "scheduler-2"}
        ids = []
        for seconds in (1, 2):
            started = _cli(
                home,
                "run",
                str(EXAMPLES / "wait.json"),
                "--input",
                f"seconds={seconds}",
                "--detach",
            )
            assert started.returncode == 0, started.stderr
            ids.append(started.stdout.strip())
        deadline = time.monotonic() + 30
        done: set[str] = set()
        while time.monotonic() < deadline and len(done) < len(ids):
            listing = _cli(home, "executions").stdout.splitlines()
            done = {r.split()[0] for r in listing if r.split()[2:3] == ["completed"]}
            time.sleep(0.3)
        assert set(ids) <= done
        for name in schedulers:
            assert "scheduler.started" in (home / f"{name}.log").read_text()
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0


def test_down_stops_what_a_killed_up_left_running(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = _up(home)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _postgres_of(home), "PostgreSQL is expected to outlive a kill -9 of `up`"
    stopped = _cli(home, "down")
    assert stopped.returncode == 0 and "postgres" in stopped.stdout
    assert _postgres_of(home) == []
    assert _cli(home, "down").stdout.startswith("nothing running")


SECRETS = {
    "FLOWMAESTRO_JWT_SECRET": "canary-jwt-secret-0d4e8b21",
    "OPENAI_API_KEY": "sk-canary-openai-5c1f9a",
    "FLOWMAESTRO_SECRET_KEYS": "k1:Y2FuYXJ5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzISE=",
}


async def _provoke_every_service(home: Path, gateway: str, nats_url: str) -> None:
    import httpx

    from flowmaestro.events.names import command_subject, exec_subject
    from flowmaestro.runtime import connect

    canary_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Y2FuYXJ5LXNpZ25hdHVyZQ"
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        await client.get("/api/workflows", headers={"Authorization": f"Bearer {canary_token}"})
        await client.post(
            "/api/auth/login", json={"email": "x@y.io", "password": "canary-password-9"}
        )
        deep = "[" * 100_000 + "]" * 100_000
        await client.post(
            "/api/workflows",
            content=deep,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {canary_token}"},
        )
    passwords = json.loads((home / "nats-credentials.json").read_text())
    nc = await connect(nats_url, credentials=("cli", passwords["cli"]), persistent=False)
    try:
        # an undecodable event: the scheduler logs an error about it
        bad = b'{"type":"execution.started","password":"canary-password-9"'
        await nc.jetstream().publish(exec_subject("01canaryexecution"), bad)
        # an undecodable command: the executors log an error about it
        await nc.jetstream().publish(command_subject("echo"), bad)
    finally:
        await nc.close()


def test_no_secret_reaches_a_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowmaestro.runtime import free_port

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_PORT", str(free_port()))
    home = tmp_path / "state"
    proc = _up(home)
    try:
        stack = json.loads((home / "stack.json").read_text())
        deadline = time.monotonic() + 30
        while "executors.started" not in (home / "executors.log").read_text():
            assert time.monotonic() < deadline, "the executors did not start"
            time.sleep(0.2)
        asyncio.run(_provoke_every_service(home, stack["gateway_url"], stack["nats_url"]))
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    canaries = [v.partition(":")[2] or v for v in SECRETS.values()]
    canaries += ["canary-password-9", "Y2FuYXJ5LXNpZ25hdHVyZQ"]
    canaries += json.loads((home / "nats-credentials.json").read_text()).values()
    canaries += json.loads((home / "postgres-credentials.json").read_text()).values()
    logs = {path.name: path.read_text(errors="replace") for path in home.glob("*.log")}
    assert {"gateway.log", "scheduler.log", "executors.log", "nats-server.log"} <= set(logs)
    assert "scheduler.bad_event" in logs["scheduler.log"]
    assert "executors.bad_command" in logs["executors.log"]
    leaks = [(name, c) for name, text in logs.items() for c in canaries if c in text]
    assert leaks == []
