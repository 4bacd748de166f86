"""Fixtures: a real nats-server on a free port with a temporary store, and the engine."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from flowmaestro.runtime.logs import configure_logging
from tests.support.cluster import ClusterStack
from tests.support.engine import running_engine

# Short redelivery so crash tests do not wait 30 s for a lost command.
os.environ.setdefault("FLOWMAESTRO_ACK_WAIT_S", "2")
configure_logging("ERROR")


def _strays(marker: str) -> list[str]:
    """Live processes, other than this one, that this run started: children of this
    process, or any whose command line or environment names the run's temporary folder
    (servers and stacks started there, whoever their parent is now)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            state, ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if state != "Z" and (int(ppid) == os.getpid() or marker in cmdline or marker in environ):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the run when a process it started outlives it (and then stops it)."""
    marker = str(tmp_path_factory.getbasetemp())
    yield
    if (workers := sys.modules.get("flowmaestro.executors.workers")) is not None:
        workers.close_all_pools()  # in-process executors' pools end with the process
    deadline = time.monotonic() + 10
    while (strays := _strays(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for stray in strays:
        os.kill(int(stray.split(":", 1)[0]), signal.SIGKILL)
    if strays:
        pytest.fail("processes started by the tests outlived them:\n" + "\n".join(strays))


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """One nats-server for the session (never the machine's own on port 4222)."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def nc(nats_server: EmbeddedNats) -> AsyncIterator[Client]:
    """A connection to the session's server, with the topology in place."""
    client = await connect(nats_server.url, name="tests")
    await ensure_topology(client.jetstream(), CATALOGUE)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def engine(nc: Client, nats_server: EmbeddedNats) -> AsyncIterator[Client]:
    """The scheduler and executors running in-process; yields the test's connection."""
    async with running_engine(nats_server.url):
        yield nc


@pytest.fixture
def nats_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClusterStack]:
    """Three nats-servers joined into one JetStream cluster (as `flowmaestro up --cluster
    3` runs them), each with its own store, every component's identity and permissions;
    streams and buckets made here get three replicas."""
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "3")
    stack = ClusterStack.start(tmp_path / "cluster")
    yield stack
    stack.stop()
