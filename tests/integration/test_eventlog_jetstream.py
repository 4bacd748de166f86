"""The execution-log contract on JetStream (the same tests as in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from flowmaestro.runtime.eventlog import JetStreamEventLog
from tests.support.eventlog_contract import EventLogContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A server of its own: no scheduler acts on these logs, so each test sees only what
    it appended."""
    server = EmbeddedNats(Path(tmp_path_factory.mktemp("eventlog"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def quiet_nc(quiet_server: EmbeddedNats) -> AsyncIterator[Client]:
    """A connection to that server, with the topology in place."""
    client = await connect(quiet_server.url, name="eventlog-contract")
    await ensure_topology(client.jetstream(), CATALOGUE)
    yield client
    await client.close()


class TestJetStreamEventLog(EventLogContract):
    """Every contract test against `JetStreamEventLog` on a real nats-server."""

    @pytest.fixture
    def log(self, quiet_nc: Client) -> JetStreamEventLog:
        return JetStreamEventLog(quiet_nc)
