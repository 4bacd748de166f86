"""Fixtures: a fresh PostgreSQL database, and a gateway over real HTTP beside the engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.runtime import EmbeddedNats
from tests.support.gateway import User, register, running_gateway
from tests.support.postgres import fresh_database

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(name: str) -> dict:
    """An example workflow definition as JSON data."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A database of its own for the session, dropped at the end."""
    async with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
async def gateway_url(
    engine: Client, nats_server: EmbeddedNats, database_url: str
) -> AsyncIterator[str]:
    """The gateway's base URL; the scheduler and executors run beside it."""
    async with running_gateway(nats_server.url, database_url) as url:
        yield url


@pytest.fixture(scope="session")
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20) as http:
        yield http


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> User:
    """A fresh user."""
    return await register(client, "Alice")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> User:
    """Another fresh user."""
    return await register(client, "Bob")
