"""One SDK client per provider endpoint and key, shared by calls: each call keeps its own
idempotency key, other keys get other clients, and every request is still checked by the
egress policy."""

from __future__ import annotations

import httpx
import pytest

from flowmaestro.executors.egress.providers import anthropic_client, openai_client
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import ChatRequest, Message
from flowmaestro.executors.nodes.ai.providers import openai_chat
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration


def _access(fake: FakeOpenAI, key: str, call: str) -> Access:
    return Access("openai", "gpt-4o-mini", key, fake.base_url, f"run:{call}", timeout=10.0)


async def _ask(access: Access) -> str:
    async def ignore(_: str) -> None:
        return None

    request = ChatRequest(messages=[Message(role="user", text="hi")])
    return (await openai_chat.complete(access, request, ignore)).text


async def test_calls_with_one_key_share_a_client_and_keep_their_own_headers(
    fake_openai: FakeOpenAI,
) -> None:
    async with (
        openai_client("sk-a", fake_openai.base_url, 10, {"Idempotency-Key": "1"}) as first,
        openai_client("sk-a", fake_openai.base_url, 5, {"Idempotency-Key": "2"}) as second,
        openai_client("sk-b", fake_openai.base_url, 10, {"Idempotency-Key": "3"}) as other,
    ):
        assert first._client is second._client  # one pool, one TLS context
        assert other._client is not first._client  # another key, another client
        assert (first.timeout, second.timeout) == (10, 5)
    assert await _ask(_access(fake_openai, "sk-a", "x")) == "echo: hi"
    assert await _ask(_access(fake_openai, "sk-b", "y")) == "echo: hi"
    seen = [
        (r.headers["authorization"], r.headers["idempotency-key"]) for r in fake_openai.calls("")
    ]
    assert seen == [("Bearer sk-a", "run:x"), ("Bearer sk-b", "run:y")]


async def test_anthropic_calls_share_a_client(fake_anthropic: FakeAnthropic) -> None:
    async with (
        anthropic_client("k", fake_anthropic.url, 10, {"Idempotency-Key": "1"}) as first,
        anthropic_client("k", fake_anthropic.url, 10, {"Idempotency-Key": "2"}) as second,
    ):
        assert first._client is second._client
        assert first.default_headers["Idempotency-Key"] == "1"
        assert second.default_headers["Idempotency-Key"] == "2"


async def test_a_shared_client_checks_every_request(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a call succeeded, the fake's port becomes the platform's gateway (a setting
    the client is not keyed by): the next call on the same shared client is refused."""
    assert await _ask(_access(fake_openai, "sk-a", "1")) == "echo: hi"
    async with openai_client("sk-a", fake_openai.base_url, 10, {}) as before:
        shared = before._client
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_HOST", "127.0.0.1")
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_PORT", str(httpx.URL(fake_openai.url).port))
    async with openai_client("sk-a", fake_openai.base_url, 10, {}) as after:
        assert after._client is shared
    with pytest.raises(TerminalNodeError) as refused:
        await _ask(_access(fake_openai, "sk-a", "2"))
    assert refused.value.kind == "egress"
    assert "platform's own service" in str(refused.value)
    assert len(fake_openai.requests) == 1
