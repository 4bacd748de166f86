"""`flowmaestro up --cluster 3`: three nats-servers as one JetStream cluster, every
stream and bucket replicated, every service given every server; a server killed with
SIGKILL is started again and the stack carries on; `down` stops all three."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from flowmaestro.cli import processes
from flowmaestro.events import names
from flowmaestro.runtime import connect
from flowmaestro.runtime.embedded import NatsCluster
from tests.integration.test_up import EXAMPLES, _cli, _env, _up

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _up_cluster(home: Path, size: int) -> subprocess.Popen[str]:
    env = {**_env(home), "FLOWMAESTRO_EGRESS_ALLOW": "127.0.0.1"}
    return _up(home, "--cluster", str(size), env=env, timeout=90)


def _stack(home: Path) -> dict[str, Any]:
    return json.loads((home / "stack.json").read_text())


async def _streams(home: Path, url: str) -> tuple[dict[str, int | None], str]:
    """Each stream's replica count, and the leader of the execution log."""
    password = json.loads((home / "nats-credentials.json").read_text())["cli"]
    nc = await connect(url, name="test", persistent=False, credentials=("cli", password))
    try:
        js = nc.jetstream()
        replicas = {s.config.name or "": s.config.num_replicas for s in await js.streams_info()}
        leader = (await js.stream_info(names.EXEC_STREAM)).cluster
        assert leader is not None and leader.leader
        return replicas, leader.leader
    finally:
        await nc.close()


def _route_ports(home: Path) -> list[int]:
    """The route ports, read from the servers' own configuration."""
    ports = []
    for conf in sorted((home / "nats-cluster").glob("n*/nats-server.conf")):
        block = conf.read_text().split("cluster {", 1)[1]
        found = re.search(r'listen: "127\.0\.0\.1:(\d+)"', block)
        assert found is not None, conf
        ports.append(int(found.group(1)))
    return ports


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _status(home: Path, execution_id: str) -> str:
    listing = _cli(home, "executions")
    row = next((r for r in listing.stdout.splitlines() if r.startswith(execution_id)), "")
    return row.split()[2] if row else ""


def test_up_cluster_replicates_everything_and_rides_out_a_lost_server(tmp_path: Path) -> None:
    home = tmp_path / "state"
    refused = _cli(home, "up", "--cluster", "2")
    assert refused.returncode == 2 and "at least 3" in refused.stderr
    up = _up_cluster(home, 3)
    seen: list[int] = []
    try:
        stack = _stack(home)
        url = str(stack["nats_url"])
        first: list[int] = list(stack["nats_pids"])
        seen += first
        assert len(url.split(",")) == 3 and len(set(first)) == 3
        assert all(processes.alive(pid, "nats-server") for pid in first)
        services: dict[str, int] = stack["services"]
        for pid in services.values():
            assert _environ(pid)["FLOWMAESTRO_NATS_URL"] == url  # every server, each service

        # a node may not reach the routes (trusted with every subject) nor any server
        routes = _route_ports(home)
        client_ports = [int(u.rsplit(":", 1)[1]) for u in url.split(",")]
        for port in [*routes, *client_ports[1:]]:
            workflow = tmp_path / f"probe-{port}.json"
            workflow.write_text(
                json.dumps(
                    {
                        "nodes": {
                            "probe": {
                                "id": "probe",
                                "type": "http",
                                "data": {
                                    "url": f"http://127.0.0.1:{port}/",
                                    "retry": {"max_attempts": 1},
                                },
                            }
                        },
                        "edges": [],
                    }
                )
            )
            probed = _cli(home, "run", str(workflow))
            assert probed.returncode == 1, probed.stdout + probed.stderr
            assert "platform's own service" in probed.stdout, probed.stdout

        started = _cli(home, "run", str(EXAMPLES / "wait.json"), "--input", "seconds=2", "--detach")
        assert started.returncode == 0, started.stderr
        execution_id = started.stdout.strip()
        replicas, leader = asyncio.run(_streams(home, url))
        assert {names.EXEC_STREAM, names.CMD_STREAM} <= set(replicas)
        assert set(replicas.values()) == {3}, replicas  # streams and buckets alike
        victim = int(leader.rsplit("-", 1)[1]) - 1  # the log's leader, `flowmaestro-<n>`
        os.kill(first[victim], signal.SIGKILL)

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids: list[int] = list(_stack(home)["nats_pids"])
            if pids[victim] != first[victim] and processes.alive(pids[victim], "nats-server"):
                seen.append(pids[victim])
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the killed nats-server was not started again")

        deadline = time.monotonic() + 45
        while (status := _status(home, execution_id)) != "completed":
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
        replayed = _cli(home, "replay", execution_id)
        assert "reproduces every decision" in replayed.stdout, replayed.stdout
    finally:
        stopped = _cli(home, "down")
        up.wait(30)
    assert stopped.returncode == 0 and "up (pid" in stopped.stdout
    assert not any(processes.alive(pid, "nats-server") for pid in seen)
    assert not (home / "stack.json").exists()


def test_down_stops_every_server_the_stack_lists(tmp_path: Path) -> None:
    """Even with `up` gone (killed, its servers left behind), `down` stops each server."""
    home = tmp_path / "state"
    home.mkdir()
    cluster = NatsCluster(home / "nats-cluster", size=3).start()
    try:
        pids = [server.pid for server in cluster.servers]
        (home / "stack.json").write_text(json.dumps({"nats_pid": pids[0], "nats_pids": pids}))
        stopped = _cli(home, "down")
        assert stopped.returncode == 0
        assert stopped.stdout.count("nats-server (pid") == 3, stopped.stdout
        assert not any(processes.alive(pid, "nats-server") for pid in pids)
    finally:
        cluster.stop()
