"""The operator's provider keys never follow a host a tenant chose: an AI node with its own
`base_url` and no integration is refused before any request, while the same key does go to
the endpoint the operator configured, and a tenant's integration key goes to its host."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.support.attacks import create_integration, failure, single_node
from tests.support.gateway import User
from tests.support.runs import bystander, run_to_end

OPERATOR_KEY = "sk-operator-only-0123456789"


@pytest.fixture(scope="module")
def _openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _anthropic() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def attacker_host(_openai: FakeOpenAI, allow_loopback: None) -> FakeOpenAI:
    """A server of the attacker's that records the Authorization header it receives."""
    _openai.reset()
    return _openai


@pytest.fixture
def operator_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's keys in the executors' environment; no configured endpoints."""
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "COHERE_API_KEY"):
        monkeypatch.setenv(variable, OPERATOR_KEY)
    for provider in ("OPENAI", "ANTHROPIC", "GOOGLE", "COHERE"):
        monkeypatch.delenv(f"FLOWMAESTRO_{provider}_BASE_URL", raising=False)


def _keys_seen(fake: FakeOpenAI | FakeAnthropic) -> list[str]:
    return [
        r.headers.get("authorization", "") + r.headers.get("x-api-key", "") for r in fake.requests
    ]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google", "cohere"])
async def test_an_operator_key_is_not_sent_to_a_tenants_base_url(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    operator_keys: None,
    attacker_host: FakeOpenAI,
    provider: str,
) -> None:
    data = {"provider": provider, "base_url": attacker_host.base_url, "prompt": "hi"}
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, single_node("llm", data))
    error = failure(detail)
    assert error["kind"] == "auth" and error["terminal"] is True, error
    assert "integration" in error["message"] and OPERATOR_KEY not in error["message"]
    assert attacker_host.requests == []


async def test_the_agent_embeddings_and_audio_nodes_keep_the_key_home_too(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    operator_keys: None,
    attacker_host: FakeOpenAI,
) -> None:
    here = {"provider": "openai", "base_url": attacker_host.base_url}
    attacks = [
        ("agent", {**here, "prompt": "hi"}),
        ("embeddings", {**here, "input": "text"}),
        ("audio", {**here, "operation": "speak", "text": "hello"}),
        ("vision", {**here, "operation": "generate", "prompt": "a cat"}),
    ]
    async with bystander(client, alice):
        for node_type, data in attacks:
            detail = await run_to_end(client, mallory, single_node(node_type, data))
            assert failure(detail)["kind"] == "auth", (node_type, detail)
    assert OPERATOR_KEY not in "".join(_keys_seen(attacker_host))


async def test_the_operator_key_goes_to_the_operators_endpoint(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    operator_keys: None,
    attacker_host: FakeOpenAI,
    _anthropic: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fakes now stand for the endpoints the operator configured.
    _anthropic.reset()
    monkeypatch.setenv("FLOWMAESTRO_OPENAI_BASE_URL", attacker_host.base_url)
    monkeypatch.setenv("FLOWMAESTRO_ANTHROPIC_BASE_URL", _anthropic.url)
    async with bystander(client, alice):
        for provider in ("openai", "anthropic"):
            data = {"provider": provider, "prompt": "hi"}
            detail = await run_to_end(client, alice, single_node("llm", data))
            assert detail["status"] == "completed", detail
    assert _keys_seen(attacker_host) == [f"Bearer {OPERATOR_KEY}"]
    [anthropic_key] = _keys_seen(_anthropic)
    assert OPERATOR_KEY in anthropic_key


async def test_a_tenants_own_integration_key_goes_to_its_own_host(
    client: httpx.AsyncClient,
    mallory: User,
    alice: User,
    operator_keys: None,
    attacker_host: FakeOpenAI,
) -> None:
    integration = await create_integration(
        client, mallory, "openai", {"base_url": attacker_host.base_url}, {"api_key": "sk-own"}
    )
    data = {"provider": "openai", "integration_id": integration, "prompt": "hi"}
    keyless = {"provider": "openai_compatible", "base_url": attacker_host.base_url, "prompt": "hi"}
    async with bystander(client, alice):
        for node in (data, keyless):
            detail = await run_to_end(client, mallory, single_node("llm", node))
            assert detail["status"] == "completed", detail
    assert _keys_seen(attacker_host) == ["Bearer sk-own", "Bearer not-needed"]
