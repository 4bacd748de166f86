"""The deployed NATS users, live: a nats-server whose configuration includes the committed
`nats-authorization.conf` (as compose's and the chart's servers do) runs a workflow with
every component under its own identity, and still refuses what the identities forbid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from flowmaestro.events import CATALOGUE, ExecutionStatus
from flowmaestro.events.names import command_subject, exec_subject
from flowmaestro.runtime import ExecutionLog, connect, ensure_topology
from flowmaestro.runtime.connection import NatsUnreachableError
from flowmaestro.runtime.embedded import die_with_parent, free_port, nats_server_binary
from flowmaestro.runtime.ids import new_execution_id
from flowmaestro.runtime.natsauth import IDENTITIES, password_variable
from tests.deploy.paths import ROOT
from tests.support.engine import load_example, run, running_engine

pytestmark = pytest.mark.integration

DEPLOYED = ROOT / "deploy" / "compose" / "nats-authorization.conf"


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
    server = subprocess.Popen(
        [nats_server_binary(), "-c", "nats.conf"],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert server.poll() is None, "nats-server refused the configuration"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}", passwords
    finally:
        server.terminate()
        server.wait(10)


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
