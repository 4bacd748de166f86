"""Fixtures: a real nats-server on a free port with a temporary store, and the engine."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from flowmaestro.runtime.logs import configure_logging
from tests.support.engine import running_engine

# Short redelivery so crash tests do not wait 30 s for a lost command.
os.environ.setdefault("FLOWMAESTRO_ACK_WAIT_S", "2")
configure_logging("ERROR")


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
