"""Integrations: credentials sealed at rest, masked in answers, mirrored for executors."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing
from tests.support.gateway import User, data_of, error_of

pytestmark = pytest.mark.integration


async def test_integration_lifecycle(
    client: httpx.AsyncClient, alice: User, engine: Client, database_url: str
) -> None:
    body = {
        "name": "crm",
        "type": "http",
        "config": {"base_url": "https://crm.invalid"},
        "credentials": {"api_key": "sk-very-secret"},
    }
    created = data_of(await client.post("/api/integrations", json=body, headers=alice.headers), 201)
    iid = created["id"]
    assert created["credentials"] == {"api_key": "********"} and created["enabled"] is True
    listed = await client.get("/api/integrations", headers=alice.headers)
    assert "sk-very-secret" not in listed.text

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT credentials::text FROM integrations WHERE id = $1", iid
        )
    finally:
        await conn.close()
    assert "sk-very-secret" not in stored and '"key_id"' in stored

    record = await IntegrationDirectory(engine.jetstream()).get(iid)
    assert record is not None and record.owner_id == alice.id and record.credentials is not None
    assert KeyRing.from_env().open(record.credentials, iid) == {"api_key": "sk-very-secret"}

    updated = data_of(
        await client.put(f"/api/integrations/{iid}", json={"enabled": False}, headers=alice.headers)
    )
    assert updated["enabled"] is False and updated["credentials"] == {"api_key": "********"}
    record = await IntegrationDirectory(engine.jetstream()).get(iid)
    assert record is not None and record.enabled is False and record.credentials is not None

    data_of(await client.delete(f"/api/integrations/{iid}", headers=alice.headers))
    assert await IntegrationDirectory(engine.jetstream()).get(iid) is None
    listed = data_of(await client.get("/api/integrations", headers=alice.headers))
    assert listed == {"integrations": []}
    error_of(await client.delete(f"/api/integrations/{iid}", headers=alice.headers), 404)
