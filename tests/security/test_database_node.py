"""The `database` node cannot take over the platform: the platform's own PostgreSQL is
refused (even with loopback allowed), Unix sockets are refused, and a superuser session —
reached through any path — is refused before a statement runs."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from flowmaestro.executors.egress.postgres import ROLE_KIND
from tests.fakes.tcp_proxy import tcp_proxy
from tests.support.attacks import create_integration, failure, single_node
from tests.support.gateway import User
from tests.support.runs import bystander, run_to_end


async def _attack(
    client: httpx.AsyncClient, mallory: User, alice: User, dsn: str, query: str
) -> dict[str, object]:
    integration = await create_integration(client, mallory, "postgres", {}, {"dsn": dsn})
    data = {"integration_id": integration, "query": query, "read_only": True}
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, single_node("database", data))
    return failure(detail)


def _superuser_dsn(database_url: str, port: int | None = None) -> str:
    url = httpx.URL(database_url)
    return f"postgresql://postgres@127.0.0.1:{port or url.port or 5432}/postgres"


@pytest.mark.parametrize("allowed", [False, True])
async def test_the_platforms_own_database_is_refused(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    platform_env: None,
    allowed: bool,
) -> None:
    monkeypatch.delenv("FLOWMAESTRO_HTTP_ALLOW", raising=False)
    if allowed:
        monkeypatch.setenv("FLOWMAESTRO_EGRESS_ALLOW", "127.0.0.1")
    else:
        monkeypatch.delenv("FLOWMAESTRO_EGRESS_ALLOW", raising=False)
    error = await _attack(
        client, mallory, alice, _superuser_dsn(database_url), "SELECT email FROM users"
    )
    assert error["kind"] == "egress" and error["terminal"] is True, error
    assert "platform's own service" in str(error["message"])


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql:///postgres?host=/var/run/postgresql&user=postgres",
        "postgresql://postgres@%2Ftmp/postgres",
        "host=/tmp port=5432 user=postgres dbname=postgres",
        "user=postgres dbname=postgres",
    ],
)
async def test_unix_socket_dsns_are_refused(
    client: httpx.AsyncClient, mallory: User, alice: User, allow_loopback: None, dsn: str
) -> None:
    error = await _attack(client, mallory, alice, dsn, "SELECT 1")
    assert error["kind"] == "egress" and "Unix socket" in str(error["message"]), error


async def test_a_superuser_reached_another_way_runs_nothing(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    database_url: str,
    allow_loopback: None,
    tmp_path: Path,
) -> None:
    """Another listener in front of a PostgreSQL (a forward, a sidecar) passes the address
    check; the superuser check still refuses before `COPY ... TO PROGRAM` runs."""
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    port = httpx.URL(database_url).port or 5432
    async with tcp_proxy("127.0.0.1", port) as proxy_port:
        error = await _attack(
            client,
            mallory,
            alice,
            _superuser_dsn(database_url, proxy_port),
            f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
        )
    assert error["kind"] == ROLE_KIND and error["terminal"] is True, error
    assert "superuser" in str(error["message"])
    assert not marker.exists()
