"""The execution-log contract on JetStream (the same tests as in memory)."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.runtime.eventlog import JetStreamEventLog
from tests.support.eventlog_contract import EventLogContract


class TestJetStreamEventLog(EventLogContract):
    """Every contract test against `JetStreamEventLog` on the session's server."""

    @pytest.fixture
    def log(self, nc: Client) -> JetStreamEventLog:
        return JetStreamEventLog(nc)
