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


@pytest.fixture
def platform_env(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,  # noqa: F811
    gateway_url: str,  # noqa: F811
) -> None:
    """The platform's addresses in the executors' environment, as `flowmaestro up` passes
    them (the executors learn their NATS servers from their own connection)."""
    monkeypatch.setenv("FLOWMAESTRO_DATABASE_URL", database_url)
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_HOST", "127.0.0.1")
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_PORT", str(httpx.URL(gateway_url).port))


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch, platform_env: None) -> None:
    """The default policy: the operator allows no private address."""
    monkeypatch.delenv("FLOWMAESTRO_EGRESS_ALLOW", raising=False)
    monkeypatch.delenv("FLOWMAESTRO_HTTP_ALLOW", raising=False)


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch, platform_env: None) -> None:
    """The operator allows 127.0.0.1 (where the tests' fake far sides listen)."""
    monkeypatch.delenv("FLOWMAESTRO_HTTP_ALLOW", raising=False)
    monkeypatch.setenv("FLOWMAESTRO_EGRESS_ALLOW", "127.0.0.1")
