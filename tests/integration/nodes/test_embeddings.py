"""The `embeddings` node: OpenAI-compatible, Gemini and Cohere fakes, and the offline model."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.base import toy_vector
from tests.fakes.cohere_server import FakeCohere
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.support.ai import one_node, run_watching

pytestmark = pytest.mark.integration


async def test_embeddings_through_the_openai_sdk(engine: Client, fake_openai: FakeOpenAI) -> None:
    data = {
        "base_url": fake_openai.base_url,
        "input": ["red apple", "${inputs.text}"],
        "dimensions": 16,
    }
    state, _, _ = await run_watching(
        engine, one_node("embeddings", data, {"text": "string"}), {"text": "green pear"}
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["embeddings"] == [toy_vector("red apple", 16), toy_vector("green pear", 16)]
    assert output["dimensions"] == 16
    assert output["model"] == "text-embedding-3-small"
    assert output["usage"]["input_tokens"] == 4
    (request,) = fake_openai.requests
    assert request.headers["idempotency-key"].endswith(":ai:1")


@pytest.mark.parametrize("provider", ["google", "cohere"])
async def test_embeddings_over_rest(
    engine: Client, fake_gemini: FakeGemini, fake_cohere: FakeCohere, provider: str
) -> None:
    base_url = fake_gemini.base_url if provider == "google" else fake_cohere.url
    data = {"provider": provider, "base_url": base_url, "input": "one text"}
    state, _, _ = await run_watching(engine, one_node("embeddings", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"]["embeddings"] == [toy_vector("one text")]


async def test_embeddings_with_the_offline_model(engine: Client) -> None:
    data = {"provider": "local", "input": ["A man is eating food.", "A man eats bread."]}
    state, _, _ = await run_watching(engine, one_node("embeddings", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["dimensions"] == 384
    first, second = output["embeddings"]
    assert sum(a * b for a, b in zip(first, second, strict=True)) > 0.5
