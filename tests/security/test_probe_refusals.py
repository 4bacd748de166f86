"""Testing a connection is no way around the egress policy: the executor that runs the
probe refuses private addresses and the platform's own services, answers within a bounded
time, and another tenant's ids are not found."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest
from nats.aio.client import Client

from flowmaestro.events.probes import ProbeRequest
from flowmaestro.executors.probes import Probes
from flowmaestro.runtime import EmbeddedNats
from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.support.gateway import User, data_of, error_of
from tests.support.workflows import register_integration


def _ok(request: Request) -> Response:
    return Response(body={"secret": "inside"})


async def _test(client: httpx.AsyncClient, user: User, kind: str, config: dict) -> dict:
    body = {"name": "probe", "type": kind, "config": config, "credentials": {"api_key": "k"}}
    created = data_of(await client.post("/api/integrations", json=body, headers=user.headers), 201)
    response = await client.post(f"/api/integrations/{created['id']}/test", headers=user.headers)
    assert "inside" not in response.text
    return data_of(response)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
async def test_private_addresses_are_refused(
    client: httpx.AsyncClient, mallory: User, no_allow_list: None, url: str
) -> None:
    result = await _test(client, mallory, "http", {"base_url": url})
    assert result["ok"] is False and result["kind"] == "egress", result


async def test_a_loopback_server_is_refused_unless_the_operator_allows_it(
    client: httpx.AsyncClient, mallory: User, no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeHttpServer(_ok) as inside:
        result = await _test(client, mallory, "openai", {"base_url": f"{inside.url}/v1"})
        assert result["kind"] == "egress" and inside.requests == []
        monkeypatch.setenv("FLOWMAESTRO_EGRESS_ALLOW", "127.0.0.1")
        result = await _test(client, mallory, "http", {"base_url": inside.url})
        assert result["ok"] is True and len(inside.requests) == 1


async def test_the_platforms_services_are_refused_even_when_loopback_is_allowed(
    client: httpx.AsyncClient,
    mallory: User,
    allow_loopback: None,
    nats_server: EmbeddedNats,
    database_url: str,
    gateway_url: str,
) -> None:
    for url in (nats_server.url, database_url, gateway_url):
        port = httpx.URL(url).port
        result = await _test(client, mallory, "http", {"base_url": f"http://127.0.0.1:{port}/"})
        assert result["kind"] == "egress" and "platform's own service" in result["message"]


async def test_foreign_integrations_are_not_found(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    body = {"name": "alice's", "type": "openai", "credentials": {"api_key": "sk-alice"}}
    created = data_of(await client.post("/api/integrations", json=body, headers=alice.headers), 201)
    error_of(
        await client.post(f"/api/integrations/{created['id']}/test", headers=mallory.headers), 404
    )
    models = await client.get(
        f"/api/models?integration_id={created['id']}", headers=mallory.headers
    )
    error_of(models, 404)


async def test_an_executor_never_opens_another_owners_integration_and_bounds_the_time(
    engine: Client, alice: User, allow_loopback: None
) -> None:
    """Even a request naming a foreign integration (which the gateway never sends) is
    refused by the executor; a far side that never answers ends at the probe's bound."""
    silent_connections: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent_connections.append(writer)

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    directory = IntegrationDirectory(engine.jetstream())
    iid = await register_integration(engine, "http", {}, {"base_url": f"http://127.0.0.1:{port}/"})
    probes = Probes(engine, directory, KeyRing.from_env())
    try:
        foreign = ProbeRequest(operation="test", owner_id=alice.id, integration_id=iid)
        reply = await probes.run(msgspec.json.encode(foreign))
        assert reply.ok is False and reply.kind == "integration"
        own = ProbeRequest(operation="test", owner_id="tests", integration_id=iid, timeout_s=0.5)
        reply = await probes.run(msgspec.json.encode(own))
        assert reply.ok is False and reply.kind == "timeout" and reply.duration_ms < 2000
    finally:
        for writer in silent_connections:
            writer.close()
        silent.close()


async def test_the_platforms_database_is_refused_to_a_postgres_integration(
    client: httpx.AsyncClient, mallory: User, allow_loopback: None, database_url: str
) -> None:
    body = {"name": "db", "type": "postgres", "credentials": {"dsn": database_url}}
    created = data_of(
        await client.post("/api/integrations", json=body, headers=mallory.headers), 201
    )
    response = await client.post(f"/api/integrations/{created['id']}/test", headers=mallory.headers)
    result = data_of(response)
    assert result["ok"] is False and result["kind"] == "egress", result
    assert "platform's own service" in result["message"]
