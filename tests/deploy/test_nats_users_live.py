"""The deployed NATS users, live: a nats-server whose configuration includes the committed
`nats-authorization.conf` (as compose's and the chart's servers do) runs a workflow with
every component under its own identity, and still refuses what the identities forbid; and
compose's own server configuration, on local ports, makes a three-server JetStream cluster
whose routes authenticate and whose streams are kept three times."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flowmaestro.events import CATALOGUE, ExecutionStatus
from flowmaestro.events.names import EXEC_STREAM, command_subject, exec_subject
from flowmaestro.runtime import ExecutionLog, connect, ensure_topology
from flowmaestro.runtime.connection import NatsUnreachableError
from flowmaestro.runtime.embedded import (
    die_with_parent,
    free_port,
    free_ports,
    nats_server_binary,
)
from flowmaestro.runtime.ids import new_execution_id
from flowmaestro.runtime.natsauth import IDENTITIES, password_variable
from flowmaestro.runtime.topology import wait_for_jetstream
from tests.deploy.paths import ROOT
from tests.support.engine import load_example, run, running_engine

pytestmark = pytest.mark.integration

COMPOSE_DIR = ROOT / "deploy" / "compose"
DEPLOYED = COMPOSE_DIR / "nats-authorization.conf"


def _launch(home: Path, env: dict[str, str], port: int, *args: str) -> subprocess.Popen[bytes]:
    """A nats-server on `home/nats.conf`, once it accepts connections on `port`."""
    server = subprocess.Popen(
        [nats_server_binary(), "-c", "nats.conf", *args],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 15
    while True:
        if server.poll() is not None:
            raise AssertionError("nats-server refused the configuration")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)


def _intrude(route_port: int) -> bytes:
    """What a route port answers a peer that presents no credentials."""
    with socket.create_connection(("127.0.0.1", route_port), timeout=5) as sock:
        sock.recv(4096)  # the server's INFO
        # the right cluster name: only the missing password can be the reason to refuse
        connect = b'CONNECT {"verbose":false,"name":"intruder","cluster":"flowmaestro"}'
        sock.sendall(connect + b"\r\nPING\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                answer += chunk
        return answer


def _stop(servers: list[subprocess.Popen[bytes]]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait(10)


@pytest.fixture(scope="module")
def deployed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """A nats-server with the deployed users; passwords given by environment, as in a pod."""
    home = tmp_path_factory.mktemp("deployed-nats")
    shutil.copy(DEPLOYED, home / DEPLOYED.name)
    port = free_port()
    (home / "nats.conf").write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{home / "js"}" }}\n'
        f"include ./{DEPLOYED.name}\n"
    )
    passwords = {identity: f"{identity}-pw-0123456789" for identity in IDENTITIES}
    env = {password_variable(i): p for i, p in passwords.items()}
    server = _launch(home, env, port)
    try:
        yield f"nats://127.0.0.1:{port}", passwords
    finally:
        _stop([server])


async def test_a_workflow_runs_with_every_component_as_its_deployed_user(
    deployed_server: tuple[str, dict],
) -> None:
    url, passwords = deployed_server
    with pytest.raises(NatsUnreachableError):
        await connect(url, persistent=False, credentials=("gateway", "wrong"))
    operator = await connect(url, name="test-cli", credentials=("cli", passwords["cli"]))
    gateway = await connect(url, name="test-gw", credentials=("gateway", passwords["gateway"]))
    executors = await connect(
        url, name="test-ex", credentials=("executors", passwords["executors"])
    )
    try:
        await ensure_topology(operator.jetstream(), CATALOGUE)
        async with running_engine(url, passwords):
            # The gateway's identity starts it and reads it back; scheduler and executors
            # run it under theirs.
            orders = {"orders": [{"name": "a", "price": 5}]}
            state, _ = await run(gateway, load_example("transform-chain"), orders)
            assert state.status is ExecutionStatus.COMPLETED, state.error
            # A durable wait: the scheduler arms a timer, the server fires it.
            state, _ = await run(gateway, load_example("wait"), {"seconds": 1}, timeout=15)
            assert state.status is ExecutionStatus.COMPLETED, state.error
            # An executor may neither start an execution nor command a node.
            forged = new_execution_id()
            js = executors.jetstream()
            for subject in (exec_subject(forged), command_subject("echo")):
                with pytest.raises(Exception):  # noqa: B017 - never acknowledged
                    await js.publish(subject, b"{}", timeout=1)
            assert await ExecutionLog(operator).read_raw(forged) == []
    finally:
        for nc in (operator, gateway, executors):
            await nc.close()


async def test_compose_nats_servers_form_a_cluster_with_replicated_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/compose/nats.conf and the servers' command line from compose.yaml, with each
    host name and fixed port turned into a free port on 127.0.0.1."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    ports = free_ports(9)
    clients, routes, monitors = ports[:3], ports[3:6], ports[6:]
    route_password = "route-pw-0123456789"
    passwords = {identity: f"{identity}-pw-0123456789" for identity in IDENTITIES}
    env = {password_variable(i): p for i, p in passwords.items()}
    env["NATS_ROUTE_PASSWORD"] = route_password
    config = (COMPOSE_DIR / "nats.conf").read_text()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(3):
            name = f"nats-{i + 1}"
            home = tmp_path / name
            home.mkdir()
            shutil.copy(DEPLOYED, home / DEPLOYED.name)
            local = config
            for fixed, free in (
                ("http_port: 8222", f'http: "127.0.0.1:{monitors[i]}"'),
                ("port: 4222", f'listen: "127.0.0.1:{clients[i]}"'),
                ("  port: 6222", f'  listen: "127.0.0.1:{routes[i]}"'),
                ("store_dir: /data", f'store_dir: "{home / "js"}"'),
            ):
                assert fixed in local
                local = local.replace(fixed, free)
            (home / "nats.conf").write_text(local)
            args = [str(a) for a in compose["services"][name]["command"]][2:]  # after -c FILE
            args = [a.replace("${NATS_ROUTE_PASSWORD}", route_password) for a in args]
            for j in range(3):
                args = [a.replace(f"nats-{j + 1}:6222", f"127.0.0.1:{routes[j]}") for a in args]
            servers.append(_launch(home, env, clients[i], *args))
        url = ",".join(f"nats://127.0.0.1:{p}" for p in clients)
        monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "3")
        operator = await connect(url, name="test-cli", credentials=("cli", passwords["cli"]))
        try:
            await wait_for_jetstream(operator)
            await ensure_topology(operator.jetstream(), CATALOGUE)
            info = await operator.jetstream().stream_info(EXEC_STREAM)
            assert info.config.num_replicas == 3
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2
            # A route without the route password is refused (a route sees every subject).
            assert b"Authorization Violation" in _intrude(routes[0])
        finally:
            await operator.close()
    finally:
        _stop(servers)
