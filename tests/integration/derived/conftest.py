"""Fixtures for runs derived from earlier ones: the gateway's stack and the fake model
server (whose request count proves reused nodes called nothing)."""

from __future__ import annotations

from tests.integration.gateway.conftest import (  # noqa: F401 - shared session fixtures
    alice,
    bob,
    client,
    database_url,
    gateway_url,
)
from tests.integration.nodes.conftest import (  # noqa: F401 - fake providers on 127.0.0.1
    _openai,
    allow_loopback,
    fake_openai,
)
