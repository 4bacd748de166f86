"""The `semantic_search` node: ranking given documents, and a collection indexed by one
node and searched by the next."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from flowmaestro.events.names import owned_file_name
from flowmaestro.runtime.files import FileStore
from tests.fakes.openai_server import FakeOpenAI
from tests.support.ai import one_node, run_watching

pytestmark = pytest.mark.integration

DOCS = [
    {"id": "a", "text": "how to bake sourdough bread at home"},
    {"id": "b", "text": "repairing a flat bicycle tyre"},
    {"id": "c", "text": "bread flour and yeast for baking"},
]


async def test_search_ranks_given_documents(engine: Client, fake_openai: FakeOpenAI) -> None:
    data = {
        "base_url": fake_openai.base_url,
        "query": "${inputs.q}",
        "documents": DOCS,
        "top_k": 2,
    }
    state, _, _ = await run_watching(
        engine, one_node("semantic_search", data, {"q": "string"}), {"q": "baking bread"}
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    results = state.outputs["result"]["results"]
    assert [r["id"] for r in results] == ["c", "a"]
    assert results[0]["score"] >= results[1]["score"] > 0
    assert results[0]["document"] == DOCS[2]


async def test_index_then_search_a_stored_collection(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    collection = f"kb-{uuid.uuid4().hex[:8]}"
    access = {"base_url": fake_openai.base_url}
    definition: dict[str, Any] = {
        "nodes": {
            "index": {
                "id": "index",
                "type": "semantic_search",
                "data": {
                    **access,
                    "operation": "index",
                    "collection": collection,
                    "documents": DOCS,
                },
            },
            "ai": {
                "id": "ai",
                "type": "semantic_search",
                "data": {**access, "collection": collection, "query": "flat tyre", "top_k": 1},
            },
            "result": {"id": "result", "type": "output", "data": {"output": "${ai.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "index", "target": "ai"},
            {"id": "e2", "source": "ai", "target": "result"},
        ],
    }
    state, _, _ = await run_watching(engine, definition)
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.nodes["index"].output == {"collection": collection, "indexed": 3, "count": 3}
    (best,) = state.outputs["result"]["results"]
    assert best["id"] == "b"
    stored = await FileStore(engine.jetstream()).get(
        owned_file_name(None, f"collections/{collection}.json")
    )
    assert stored is not None and len(json.loads(stored)["items"]) == 3


async def test_search_of_a_missing_collection_fails(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    data = {"base_url": fake_openai.base_url, "collection": "never-made", "query": "x"}
    state, _, _ = await run_watching(engine, one_node("semantic_search", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and "index documents" in state.error.message


async def test_search_with_the_offline_model(engine: Client) -> None:
    data = {
        "provider": "local",
        "query": "Someone is having a meal",
        "documents": ["The weather is lovely today.", "A man is eating food.", "A cat sleeps."],
        "top_k": 1,
    }
    state, _, _ = await run_watching(engine, one_node("semantic_search", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    (best,) = state.outputs["result"]["results"]
    assert best["text"] == "A man is eating food."
