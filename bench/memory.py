"""Resident memory (RSS) of each process of a `flowmaestro up` stack: idle, and after W3
(200 chains of 10 echo nodes started at once).

Starts a fresh stack in a temporary state folder, prints a table and writes
bench/memory.json. Targets: the scheduler at most 60 MB, the stack without PostgreSQL at
most 250 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from bench.run import chain
from flowmaestro.events import ExecutionStarted
from flowmaestro.events.names import event_wildcard, execution_of
from flowmaestro.runtime import ExecutionLog, connect, free_port, new_execution_id

TARGETS_MB = {"scheduler": 60.0, "stack without PostgreSQL": 250.0}
W3_EXECUTIONS = 200


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == pid:
                found.append(int(proc.name))
    return found


def measure(home: Path) -> dict[str, float]:
    """RSS by process of the stack whose state folder is `home`."""
    stack = json.loads((home / "stack.json").read_text())
    figures = {"up (supervisor)": rss_mb(stack["pid"])}
    for role, pid in stack["services"].items():
        figures[role] = rss_mb(pid)
    figures["nats-server"] = rss_mb(stack["nats_pid"])
    figures["stack without PostgreSQL"] = sum(figures.values())
    postmaster = int((home / "postgres" / "postmaster.pid").read_text().split()[0])
    figures["PostgreSQL (all processes)"] = rss_mb(postmaster) + sum(
        rss_mb(child) for child in _children(postmaster)
    )
    return {name: round(value, 1) for name, value in figures.items()}


async def w3(home: Path, nats_url: str) -> float:
    """Start W3's executions at once as the operator; seconds until all have ended."""
    password = json.loads((home / "nats-credentials.json").read_text())["cli"]
    nc = await connect(nats_url, name="bench-memory", credentials=("cli", password))
    ended: set[str] = set()
    done = asyncio.Event()
    ids: set[str] = set()

    async def on_msg(msg: Any) -> None:
        kind = msgspec.json.decode(msg.data).get("type", "")
        if kind.startswith("execution.") and kind != "execution.started":
            ended.add(execution_of(msg.subject))
            if ids and ids <= ended:
                done.set()

    await nc.subscribe(event_wildcard(), cb=on_msg)
    log = ExecutionLog(nc)
    definition = chain()
    begin = time.perf_counter()
    for _ in range(W3_EXECUTIONS):
        execution_id = new_execution_id()
        ids.add(execution_id)
        await log.start(
            ExecutionStarted(
                execution_id=execution_id, definition=definition, started_at=datetime.now(UTC)
            )
        )
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - begin
    await nc.close()
    return elapsed


def _up(home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMAESTRO_NATS")}
    env.update(FLOWMAESTRO_HOME=str(home), FLOWMAESTRO_GATEWAY_PORT=str(free_port()))
    env.pop("FLOWMAESTRO_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowmaestro.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("FlowMaestro is ready"):
            break
    else:
        raise RuntimeError("flowmaestro up did not start")
    deadline = time.monotonic() + 60
    while "executors.started" not in (home / "executors.log").read_text():
        if time.monotonic() > deadline:
            raise RuntimeError("the executors did not start")
        time.sleep(0.2)
    return proc


def table(results: dict[str, Any]) -> str:
    """The figures as a text table."""
    rows = [f"{'process':<28} {'idle MB':>8} {'after W3 MB':>12} {'target MB':>10}"]
    for name, idle in results["idle"].items():
        target = TARGETS_MB.get(name)
        rows.append(
            f"{name:<28} {idle:>8.1f} {results['after_w3'][name]:>12.1f} "
            f"{(f'≤ {target:.0f}' if target else ''):>10}"
        )
    rows.append(f"W3: {W3_EXECUTIONS} executions in {results['w3_seconds']:.2f} s")
    return "\n".join(rows)


def main() -> int:
    """Run the measurement; exit 1 when a target is missed."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "state"
        proc = _up(home)
        try:
            time.sleep(3.0)  # settle
            idle = measure(home)
            nats_url = json.loads((home / "stack.json").read_text())["nats_url"]
            seconds = asyncio.run(w3(home, nats_url))
            time.sleep(2.0)
            after = measure(home)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    results = {
        "measured_at": datetime.now(UTC).isoformat(),
        "idle": idle,
        "after_w3": after,
        "w3_seconds": round(seconds, 2),
        "targets_mb": TARGETS_MB,
    }
    print(table(results))
    out = Path(__file__).with_name("memory.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    missed = [n for n, t in TARGETS_MB.items() if idle[n] > t]
    if missed:
        print(f"over target (idle): {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
