"""Attacks through real workflow runs: the gateway, scheduler and executors of the tests'
stack, a hostile user (`mallory`) and a bystander tenant (`alice`, `bob`)."""

from __future__ import annotations

import httpx
import pytest

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
from tests.support.gateway import User, register


@pytest.fixture
async def mallory(client: httpx.AsyncClient) -> User:  # noqa: F811
    """The attacker: an ordinary registered user."""
    return await register(client, "Mallory")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every security test runs against the real stack."""
    for item in items:
        if "tests/security/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
