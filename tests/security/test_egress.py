"""Every outbound connection of every node passes one egress policy: a tenant's workflow
cannot reach loopback or private addresses (unless the operator allows them), nor — even
then — the platform's own NATS, PostgreSQL, gateway or metrics endpoints, through any node
or any redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flowmaestro.runtime import EmbeddedNats
from flowmaestro.runtime.metrics import ExecutorMetrics, SchedulerMetrics
from tests.fakes.base import Reply
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.fakes.openai_server import FakeOpenAI
from tests.support.attacks import create_integration, failure, single_node
from tests.support.gateway import User
from tests.support.runs import bystander, run_to_end


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible model server on 127.0.0.1."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


def _ok(request: Request) -> Response:
    return Response(body={"secret": "inside", "path": request.path})


def _port(url: str) -> int:
    port = httpx.URL(url).port
    assert port is not None
    return port


async def _refused(
    client: httpx.AsyncClient, mallory: User, alice: User, node_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Run mallory's one-node workflow while alice's run is in flight; the node must fail
    with an egress refusal, and alice's run must complete."""
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, single_node(node_type, data))
    error = failure(detail)
    assert error["kind"] == "egress", error
    assert "refusing" in error["message"], error
    return error


async def test_without_the_allow_list_loopback_is_refused(
    client: httpx.AsyncClient, mallory: User, alice: User, no_allow_list: None
) -> None:
    async with FakeHttpServer(_ok) as inside:
        await _refused(client, mallory, alice, "http", {"url": f"{inside.url}/admin"})
        await _refused(client, mallory, alice, "file", {"url": f"{inside.url}/x.csv"})
        assert inside.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://10.0.0.1/",
        "http://localhost/",
    ],
)
async def test_private_and_ipv4_embedding_targets_are_refused(
    client: httpx.AsyncClient, mallory: User, alice: User, no_allow_list: None, url: str
) -> None:
    await _refused(client, mallory, alice, "http", {"url": url})


async def test_the_platforms_own_services_are_refused_even_when_loopback_is_allowed(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    allow_loopback: None,
    nats_server: EmbeddedNats,
    database_url: str,
    gateway_url: str,
) -> None:
    nats_port, db_port, gateway_port = map(_port, (nats_server.url, database_url, gateway_url))
    for port in (nats_port, db_port, gateway_port):
        error = await _refused(client, mallory, alice, "http", {"url": f"http://127.0.0.1:{port}/"})
        assert "platform's own service" in error["message"]
    # the same services by other spellings of loopback
    for url in (f"http://localhost:{nats_port}/", f"http://[::ffff:127.0.0.1]:{db_port}/"):
        await _refused(client, mallory, alice, "http", {"url": url})
    # an ordinary allowed server still answers, so the refusals above are the policy's
    async with FakeHttpServer(_ok) as allowed, bystander(client, alice):
        detail = await run_to_end(client, mallory, single_node("http", {"url": allowed.url}))
    assert detail["status"] == "completed", detail
    assert detail["outputs"]["out"]["body"]["secret"] == "inside"


async def test_every_redirect_is_checked_again(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    allow_loopback: None,
    nats_server: EmbeddedNats,
) -> None:
    nats_port = _port(nats_server.url)
    targets = iter([f"http://127.0.0.1:{nats_port}/", "http://169.254.169.254/latest/"])

    def redirect(_request: Request) -> Response:
        return Response(status=302, headers={"Location": next(targets)})

    async with FakeHttpServer(redirect) as hop:
        await _refused(client, mallory, alice, "http", {"url": hop.url})
        await _refused(client, mallory, alice, "file", {"url": hop.url})
        assert len(hop.requests) == 2


async def test_integration_hosts_are_refused(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    allow_loopback: None,
    nats_server: EmbeddedNats,
) -> None:
    nats = f"http://127.0.0.1:{_port(nats_server.url)}"
    slack = await create_integration(
        client, mallory, "slack", {"base_url": nats}, {"token": "xoxb-1"}
    )
    await _refused(
        client, mallory, alice, "slack", {"integration_id": slack, "channel": "C1", "text": "hi"}
    )
    notion = await create_integration(
        client, mallory, "notion", {"base_url": nats}, {"token": "secret_1"}
    )
    await _refused(
        client,
        mallory,
        alice,
        "notion",
        {"integration_id": notion, "operation": "query_database", "database_id": "d1"},
    )
    hook = await create_integration(client, mallory, "webhook", {}, {"secret": "s"})
    await _refused(
        client, mallory, alice, "webhook", {"integration_id": hook, "url": f"{nats}/hook"}
    )
    smtp = await create_integration(
        client,
        mallory,
        "email",
        {"host": "127.0.0.1", "port": _port(nats_server.url), "security": "none"},
    )
    await _refused(
        client,
        mallory,
        alice,
        "email",
        {
            "integration_id": smtp,
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "from_address": "m@example.com",
        },
    )


async def test_provider_tool_and_media_urls_are_refused(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    allow_loopback: None,
    nats_server: EmbeddedNats,
    gateway_url: str,
    fake_llm: FakeOpenAI,
) -> None:
    nats = f"http://127.0.0.1:{_port(nats_server.url)}"
    model = {"provider": "openai_compatible", "model": "m"}
    # a provider base_url at the platform's NATS
    await _refused(
        client, mallory, alice, "llm", {**model, "base_url": f"{nats}/v1", "prompt": "hi"}
    )
    # an agent's tool URL at the platform's NATS (the model asks to call it)
    fake_llm.script(Reply(tool_calls=[("peek", {})]), Reply(text="done"))
    tool = {"name": "peek", "description": "peek", "url": f"{nats}/", "method": "GET"}
    agent = {**model, "base_url": fake_llm.base_url, "prompt": "go", "tools": [tool]}
    await _refused(client, mallory, alice, "agent", agent)
    # an audio URL at the platform's gateway
    audio = {
        **model,
        "base_url": fake_llm.base_url,
        "operation": "transcribe",
        "audio_url": f"{gateway_url}/health",
    }
    await _refused(client, mallory, alice, "audio", audio)
    # an image URL a model server inside the network would fetch: the node fetches it
    inside = {**model, "base_url": fake_llm.base_url, "prompt": "describe"}
    image = {**inside, "operation": "analyze", "image_url": f"{gateway_url}/api/auth/me"}
    await _refused(client, mallory, alice, "vision", image)
    # an image URL that Gemini-style fetching would read locally
    vision = {
        **model,
        "provider": "google",
        "model": "",
        "operation": "analyze",
        "prompt": "what is it",
        "image_url": "http://169.254.169.254/latest/",
    }
    google = await create_integration(
        client, mallory, "google", {"base_url": fake_llm.base_url}, {"api_key": "own-key"}
    )
    await _refused(client, mallory, alice, "vision", {**vision, "integration_id": google})


async def test_the_metrics_endpoints_are_refused_even_when_loopback_is_allowed(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    allow_loopback: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The executor's own `/metrics` (FLOWMAESTRO_METRICS_PORT), and another service's
    named in FLOWMAESTRO_EGRESS_DENY as `flowmaestro up` does, are platform endpoints."""
    own, other = ExecutorMetrics(), SchedulerMetrics()
    own_port, other_port = own.serve(0), other.serve(0)
    try:
        monkeypatch.setenv("FLOWMAESTRO_METRICS_PORT", str(own_port))
        monkeypatch.setenv("FLOWMAESTRO_EGRESS_DENY", f"127.0.0.1:{other_port}")
        for port in (own_port, other_port):
            assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
            error = await _refused(
                client, mallory, alice, "http", {"url": f"http://127.0.0.1:{port}/metrics"}
            )
            assert "platform's own service" in error["message"]
    finally:
        own.close()
        other.close()
