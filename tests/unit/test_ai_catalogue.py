"""The AI node family in the catalogue: configs, checks, and workflow validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from flowmaestro.events import (
    CATALOGUE,
    DefinitionError,
    ExecutionStarted,
    NodeProgress,
    NodeStatus,
    decode_event,
    encode,
    evolve,
    parse_definition,
)
from flowmaestro.events.catalogue.ai import AgentConfig, LLMConfig
from flowmaestro.executors import EXECUTORS

AI_TYPES = {"llm", "agent", "embeddings", "semantic_search", "vision", "audio"}


def test_every_ai_type_is_catalogued_and_has_an_executor() -> None:
    assert set(CATALOGUE) >= AI_TYPES
    assert set(EXECUTORS) >= AI_TYPES
    assert {CATALOGUE[t].category for t in AI_TYPES} == {"ai"}


def test_agent_config_defaults() -> None:
    config = msgspec.convert(
        {"prompt": "hi", "tools": [{"name": "t", "url": "http://x"}]}, AgentConfig
    )
    assert config.provider == "openai" and config.max_steps == 8
    assert config.tools[0].parameters == {"type": "object", "properties": {}}
    assert config.tools[0].method == "POST"


def test_llm_config_rejects_an_unknown_provider() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"prompt": "hi", "provider": "acme"}, LLMConfig)


def _workflow(node_type: str, data: dict[str, Any]) -> bytes:
    return msgspec.json.encode(
        {"nodes": {"n": {"id": "n", "type": node_type, "data": data}}, "edges": []}
    )


@pytest.mark.parametrize(
    ("node_type", "data", "field"),
    [
        ("llm", {"prompt": "  "}, "prompt"),
        ("llm", {"prompt": "x", "provider": "openai_compatible"}, "base_url"),
        ("agent", {"prompt": "x", "max_steps": 0}, "max_steps"),
        (
            "agent",
            {"prompt": "x", "tools": [{"name": "a", "url": "u"}, {"name": "a", "url": "v"}]},
            "tools",
        ),
        ("vision", {"image_url": "u", "image_base64": "b"}, "image_url"),
        ("vision", {}, "image_url"),
        ("audio", {"operation": "speak"}, "text"),
        ("audio", {}, "audio_url"),
        ("semantic_search", {"query": "q"}, "documents"),
        ("semantic_search", {"operation": "index", "documents": ["a"]}, "collection"),
    ],
)
def test_checks_reject_incomplete_configs(node_type: str, data: dict[str, Any], field: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(_workflow(node_type, data))
    assert f"data.{field}" in str(caught.value)


@pytest.mark.parametrize(
    ("node_type", "data"),
    [
        ("llm", {"prompt": "${inputs.q}", "provider": "anthropic"}),
        ("vision", {"operation": "generate", "prompt": "a cat"}),
        ("audio", {"operation": "speak", "text": "hello"}),
        ("semantic_search", {"collection": "kb", "query": "q"}),
        ("embeddings", {"input": ["a", "b"], "provider": "local"}),
    ],
)
def test_complete_configs_validate(node_type: str, data: dict[str, Any]) -> None:
    parse_definition(_workflow(node_type, data))


def test_node_progress_round_trips_and_changes_no_status() -> None:
    definition = parse_definition(_workflow("llm", {"prompt": "x"}))
    at = datetime(2030, 1, 1, tzinfo=UTC)
    state = evolve(
        None,
        ExecutionStarted(execution_id="e1", definition=definition, started_at=at),
        1,
    )
    progress = NodeProgress(node_id="n", attempt=1, key="turn-1", data={"a": 1}, recorded_at=at)
    assert decode_event(encode(progress)) == progress
    after = evolve(state, progress, 2)
    assert after.nodes == state.nodes and after.nodes["n"].status is NodeStatus.PENDING
    assert after.last_seq == 2 and after.event_count == 2
