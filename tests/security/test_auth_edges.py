"""Auth edges, through the real gateway: deleted and disabled accounts, registration
floods, email look-alikes, forged forwarding headers, deep JSON, production settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.gateway import GatewaySettings
from flowmaestro.gateway.errors import ConfigurationError
from flowmaestro.runtime import EmbeddedNats
from tests.integration.gateway.conftest import example
from tests.support.gateway import PASSWORD, User, error_of, register, running_gateway
from tests.support.runs import bystander


async def _sql(database_url: str, query: str, *args: object) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def test_a_deleted_or_disabled_users_token_is_refused_at_once(
    client: httpx.AsyncClient, database_url: str, mallory: User, alice: User
) -> None:
    async with bystander(client, alice):
        assert (await client.get("/api/workflows", headers=mallory.headers)).status_code == 200
        await _sql(database_url, "UPDATE users SET disabled_at = now() WHERE id = $1", mallory.id)
        assert error_of(await client.get("/api/workflows", headers=mallory.headers), 401)
        created = await client.post(
            "/api/workflows",
            json={"name": "w", "definition": example("transform-chain")},
            headers=mallory.headers,
        )
        assert created.status_code == 401
        login = await client.post(
            "/api/auth/login", json={"email": mallory.email, "password": PASSWORD}
        )
        assert login.status_code == 401
        verified = await client.post("/api/auth/verify", json={"token": mallory.token})
        assert verified.json()["data"]["valid"] is False

        doomed = await register(client, "Doomed")
        await _sql(database_url, "DELETE FROM users WHERE id = $1", doomed.id)
        for method, path in (("GET", "/api/workflows"), ("POST", "/api/files")):
            response = await client.request(method, path, headers=doomed.headers)
            assert response.status_code == 401, (method, path, response.text)
        assert (await client.get("/api/workflows", headers=alice.headers)).status_code == 200


async def test_emails_are_trimmed_case_folded_and_refused_with_control_characters(
    client: httpx.AsyncClient, alice: User
) -> None:
    for lookalike in (f"{alice.email}\n", f"  {alice.email.upper()} ", f"{alice.email}\t"):
        again = await client.post(
            "/api/auth/register",
            json={"email": lookalike, "password": PASSWORD, "name": "Twin"},
        )
        assert error_of(again, 409)["code"] == "EMAIL_TAKEN", lookalike
    for hostile in ("eve\x00@x.io", "eve@x.io\u200b", "eve\r\n@x.io", "e\u202eve@x.io"):
        refused = await client.post(
            "/api/auth/register", json={"email": hostile, "password": PASSWORD, "name": "E"}
        )
        assert error_of(refused, 400)["details"][0]["field"] == "email", hostile
    login = await client.post(
        "/api/auth/login", json={"email": f" {alice.email.upper()}\n", "password": PASSWORD}
    )
    assert login.status_code == 200


async def test_a_deeply_nested_body_is_a_400_in_the_envelope(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    async with bystander(client, alice):
        deep = "[" * 100_000 + "]" * 100_000
        for path in ("/api/workflows", "/api/auth/register"):
            response = await client.post(
                path,
                content=deep,
                headers={**mallory.headers, "Content-Type": "application/json"},
            )
            assert error_of(response, 400)["code"] in ("TOO_DEEPLY_NESTED", "VALIDATION_ERROR")


@pytest.fixture
async def strict_gateway(
    engine: Client, nats_server: EmbeddedNats, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway with the production defaults for registration and login limits, behind a
    trusted proxy at 10.0.0.1 (so a forged header from loopback is not trusted)."""
    async with (
        running_gateway(
            nats_server.url,
            database_url,
            register_limit_per_address=3,
            register_limit=1000,
            login_limit_per_address=3,
            login_limit_per_email=1000,
            trusted_proxies="10.0.0.1/32",
        ) as url,
        httpx.AsyncClient(base_url=url, timeout=20) as http,
    ):
        yield http


async def test_registration_is_rate_limited_per_address(
    strict_gateway: httpx.AsyncClient,
) -> None:
    statuses = []
    for i in range(5):
        response = await strict_gateway.post(
            "/api/auth/register",
            json={"email": f"flood-{i}-{uuid.uuid4().hex}@x.io", "password": PASSWORD, "name": "F"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},  # forged: the peer is loopback
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429, 429]


async def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(
    strict_gateway: httpx.AsyncClient,
) -> None:
    statuses = []
    for i in range(5):
        response = await strict_gateway.post(
            "/api/auth/login",
            json={"email": f"nobody-{i}@x.io", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
        statuses.append(response.status_code)
    # each forged address would have had a fresh allowance; the peer's is used up after 3
    assert statuses == [401, 401, 401, 429, 429]


def test_a_trusted_proxys_forwarded_address_is_used() -> None:
    from flowmaestro.gateway.security import client_address, parse_networks

    trusted = parse_networks("10.0.0.0/8, ::1")
    assert client_address("127.0.0.1", "203.0.113.9", trusted) == "127.0.0.1"
    assert client_address("10.1.2.3", "203.0.113.9, 10.0.0.7", trusted) == "203.0.113.9"
    assert client_address("10.1.2.3", "spoofed, 203.0.113.9", trusted) == "203.0.113.9"
    assert client_address("10.1.2.3", None, trusted) == "10.1.2.3"


def test_production_refuses_development_keys_and_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWMAESTRO_ENV", "production")
    monkeypatch.delenv("FLOWMAESTRO_SECRET_KEYS", raising=False)
    monkeypatch.delenv("FLOWMAESTRO_JWT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="JWT_SECRET"):
        GatewaySettings.from_env("nats://x", "postgresql://x").check()
    monkeypatch.setenv("FLOWMAESTRO_JWT_SECRET", "a-private-production-secret")
    with pytest.raises(ConfigurationError, match="SECRET_KEYS"):
        GatewaySettings.from_env("nats://x", "postgresql://x").check()
    monkeypatch.setenv("FLOWMAESTRO_SECRET_KEYS", "k1:Y2FuYXJ5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzISE=")
    GatewaySettings.from_env("nats://x", "postgresql://x").check()
    monkeypatch.setenv("FLOWMAESTRO_TRUSTED_PROXIES", "not-an-address")
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        GatewaySettings.from_env("nats://x", "postgresql://x").check()


async def test_executors_refuse_the_development_key_in_production() -> None:
    import os
    import sys

    env = {**os.environ, "FLOWMAESTRO_ENV": "production", "FLOWMAESTRO_NATS_URL": "nats://x:1"}
    env.pop("FLOWMAESTRO_SECRET_KEYS", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "flowmaestro.executors",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2 and b"FLOWMAESTRO_SECRET_KEYS" in err
