"""The `llm` node inside real workflows, against fake providers through the real SDKs."""

from __future__ import annotations

import msgspec
import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.base import FakeServer, Reply
from tests.fakes.cohere_server import FakeCohere
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.support.ai import one_node, run_watching
from tests.support.engine import load_example

pytestmark = pytest.mark.integration


def _base_url(fake: FakeServer) -> str:
    return fake.base_url if isinstance(fake, FakeOpenAI | FakeGemini) else fake.url


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    "provider", ["openai", "openai_compatible", "anthropic", "google", "cohere"]
)
async def test_llm_answers_through_each_provider(
    engine: Client,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    fake_gemini: FakeGemini,
    fake_cohere: FakeCohere,
    provider: str,
    stream: bool,
) -> None:
    fake: FakeServer = {
        "openai": fake_openai,
        "openai_compatible": fake_openai,
        "anthropic": fake_anthropic,
        "google": fake_gemini,
        "cohere": fake_cohere,
    }[provider]
    data = {
        "provider": provider,
        "model": "gpt-4o-mini" if provider.startswith("openai") else "",
        "base_url": _base_url(fake),
        "system_prompt": "Be brief.",
        "prompt": "Hello ${inputs.name}",
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["END"],
        "stream": stream,
    }
    state, _, chunks = await run_watching(
        engine, one_node("llm", data, {"name": "string"}), {"name": "Ada"}
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["text"] == "echo: Hello Ada"
    assert output["finish_reason"] == "stop"
    assert output["usage"]["output_tokens"] > 0
    assert output["usage"]["total_tokens"] > output["usage"]["output_tokens"]
    assert "".join(chunks) == ("echo: Hello Ada" if stream else "")
    (request,) = fake.requests
    assert request.headers["idempotency-key"].endswith(":ai:1")
    assert "Be brief." in request.body.decode()
    if provider.startswith("openai"):
        assert output["cost_usd"] > 0
        assert request.json()["stop"] == ["END"]


async def test_llm_json_output_is_validated_and_repaired_once(
    engine: Client, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.script(Reply(text="Sure! here it is"), Reply(text='{"score": 7}'))
    data = {
        "provider": "anthropic",
        "model": "claude-sonnet-5-5",
        "base_url": fake_anthropic.url,
        "prompt": "Rate it",
        "json_schema": {
            "type": "object",
            "properties": {"score": {"type": "integer"}},
            "required": ["score"],
        },
    }
    state, _, _ = await run_watching(engine, one_node("llm", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["json"] == {"score": 7}
    assert len(fake_anthropic.requests) == 2
    repair = fake_anthropic.requests[1].json()["messages"]
    assert repair[-1]["content"][0]["text"].startswith("Your answer not valid JSON")
    assert "JSON Schema" in fake_anthropic.requests[0].json()["system"]
    assert output["cost_usd"] > 0


async def test_llm_json_that_stays_invalid_fails_terminally(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text='{"score": "high"}'), Reply(text='{"score": "very"}'))
    data = {
        "base_url": fake_openai.base_url,
        "prompt": "Rate it",
        "json_schema": {"type": "object", "properties": {"score": {"type": "integer"}}},
    }
    state, _, _ = await run_watching(engine, one_node("llm", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "invalid_json"
    assert state.nodes["ai"].attempt == 1


async def test_llm_rate_limit_is_retried_after_retry_after(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(status=429, headers={"retry-after": "0.3"}))
    data = {
        "base_url": fake_openai.base_url,
        "prompt": "Hi",
        "retry": {"max_attempts": 2, "initial_interval_seconds": 0.05},
    }
    state, _, _ = await run_watching(engine, one_node("llm", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    node = state.nodes["ai"]
    assert [a.status for a in node.attempts] == ["failed", "completed"]
    first = node.attempts[0]
    assert first.error is not None and first.error.kind == "rate_limited"
    assert first.error.retry_after_seconds == pytest.approx(0.3)
    keys = [r.headers["idempotency-key"] for r in fake_openai.requests]
    assert keys[0] != keys[1]


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (400, "bad_request")])
async def test_llm_auth_and_bad_request_fail_without_retry(
    engine: Client, fake_openai: FakeOpenAI, status: int, kind: str
) -> None:
    fake_openai.script(Reply(status=status))
    data = {"base_url": fake_openai.base_url, "prompt": "Hi"}
    state, _, _ = await run_watching(engine, one_node("llm", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == kind
    assert state.nodes["ai"].attempt == 1
    assert len(fake_openai.requests) == 1


async def test_the_llm_chat_example_runs(engine: Client, fake_openai: FakeOpenAI) -> None:
    definition = msgspec.to_builtins(load_example("llm-chat"))
    definition["nodes"]["chat"]["data"]["base_url"] = fake_openai.base_url
    state, _, chunks = await run_watching(
        engine, definition, {"message": "What is NATS?"}, node_id="chat"
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs == {"reply": "echo: What is NATS?"}
    assert "".join(chunks) == "echo: What is NATS?"
