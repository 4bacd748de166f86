"""AI node types: llm, agent, embeddings, semantic_search, vision and audio.

Each one talks to a model provider. Keys come from the node's `integration_id` (its
credentials' `api_key`, its config's `base_url`) or, for local use, from the provider's
environment variable; `base_url` points any of them at an OpenAI-compatible server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec

__all__ = [
    "SPECS",
    "AgentConfig",
    "AgentTool",
    "AudioConfig",
    "EmbeddingProvider",
    "EmbeddingsConfig",
    "LLMConfig",
    "ModelAccess",
    "Provider",
    "SemanticSearchConfig",
    "VisionConfig",
]

Provider = Literal["openai", "anthropic", "google", "cohere", "openai_compatible"]
"""Chat providers; `openai_compatible` is any server speaking OpenAI's API at `base_url`."""

EmbeddingProvider = Literal["openai", "openai_compatible", "google", "cohere", "local"]
"""Embedding providers; `local` is the bundled all-MiniLM-L6-v2 model, run offline."""


class ModelAccess(NodeConfig, frozen=True, kw_only=True):
    """Which model to call and how to reach it (shared by the chat-style AI nodes)."""

    provider: Provider = "openai"
    model: str = ""
    """Empty picks the provider's default model."""
    integration_id: str | None = None
    base_url: str | None = None


class LLMConfig(ModelAccess, frozen=True, kw_only=True):
    """`llm`: one model call with system and user prompts (`${...}` references resolved).

    With `json_schema` (or `output_format: json`) the answer must be JSON, validated
    against the schema, with one repair request when it is not.
    """

    prompt: str
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = []
    output_format: Literal["text", "json"] = "text"
    json_schema: dict[str, Any] | None = None
    stream: bool = True


class AgentTool(msgspec.Struct, frozen=True, kw_only=True):
    """A tool the agent may call: an HTTP endpoint (`url`) that receives the arguments as
    JSON, or another workflow (`workflow_id`, optional `version`) run as a child execution
    with the arguments as its inputs, answering with its outputs.

    `parameters` is the JSON Schema of the arguments. GET sends them as query parameters.
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    url: str | None = None
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = {}
    workflow_id: str | None = None
    version: int | None = None


class AgentConfig(LLMConfig, frozen=True, kw_only=True):
    """`agent`: an LLM that calls tools until it answers or a step or cost budget runs out."""

    tools: list[AgentTool] = []
    max_steps: int = 8
    max_cost_usd: float | None = None
    tool_timeout_seconds: float = 30.0


class EmbeddingsConfig(NodeConfig, frozen=True, kw_only=True):
    """`embeddings`: vectors for one text or a list of texts."""

    input: str | list[str]
    provider: EmbeddingProvider = "openai"
    model: str = ""
    dimensions: int | None = None
    integration_id: str | None = None
    base_url: str | None = None


class SemanticSearchConfig(NodeConfig, frozen=True, kw_only=True):
    """`semantic_search`: rank documents (given, or a stored collection) by cosine similarity.

    `operation: index` embeds `documents` into `collection` (kept in the file store);
    `search` ranks `documents` or the collection against `query`. Documents are strings or
    objects whose `text_field` holds the text.
    """

    operation: Literal["search", "index"] = "search"
    query: str = ""
    documents: list[Any] = []
    collection: str | None = None
    text_field: str = "text"
    top_k: int = 5
    min_score: float | None = None
    provider: EmbeddingProvider = "openai"
    model: str = ""
    integration_id: str | None = None
    base_url: str | None = None


class VisionConfig(ModelAccess, frozen=True, kw_only=True):
    """`vision`: describe an image (URL, stored file or base64) or generate one from `prompt`."""

    operation: Literal["analyze", "generate"] = "analyze"
    prompt: str = "Describe this image."
    image_url: str | None = None
    image_file: str | None = None
    """An uploaded file's id, or the name of a file the owner's nodes made."""
    image_base64: str | None = None
    media_type: str = "image/png"
    max_tokens: int | None = None
    size: str = "1024x1024"


class AudioConfig(ModelAccess, frozen=True, kw_only=True):
    """`audio`: speech to text (`transcribe`), or text to speech (`speak`) into the file store."""

    operation: Literal["transcribe", "speak"] = "transcribe"
    audio_url: str | None = None
    audio_file: str | None = None
    audio_base64: str | None = None
    language: str | None = None
    text: str = ""
    voice: str = "alloy"
    format: Literal["mp3", "wav", "opus", "aac", "flac", "pcm"] = "mp3"


def _access_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    if data.get("provider") == "openai_compatible" and not (
        data.get("base_url") or data.get("integration_id")
    ):
        return [("base_url", "an openai_compatible provider needs base_url or an integration")]
    return []


def _llm_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = _access_problems(data)
    if not str(data.get("prompt") or "").strip():
        problems.append(("prompt", "must not be empty"))
    return problems


def _agent_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = _llm_problems(data)
    tools = data.get("tools") or []
    names = [t.get("name") for t in tools if isinstance(t, Mapping)]
    if len(set(names)) != len(names):
        problems.append(("tools", "tool names must be unique"))
    for tool in tools:
        if isinstance(tool, Mapping) and (tool.get("url") is None) == (
            tool.get("workflow_id") is None
        ):
            problems.append(
                ("tools", f"tool {tool.get('name')!r}: set exactly one of 'url' and 'workflow_id'")
            )
    steps = data.get("max_steps")
    if isinstance(steps, int) and steps < 1:
        problems.append(("max_steps", "must be at least 1"))
    return problems


def _one_source(data: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    given = [k for k in (f"{kind}_url", f"{kind}_file", f"{kind}_base64") if data.get(k)]
    if len(given) != 1:
        return [(f"{kind}_url", f"set exactly one of {kind}_url, {kind}_file, {kind}_base64")]
    return []


def _vision_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = _access_problems(data)
    if data.get("operation", "analyze") == "analyze":
        problems += _one_source(data, "image")
    return problems


def _audio_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = _access_problems(data)
    if data.get("operation", "transcribe") == "transcribe":
        problems += _one_source(data, "audio")
    elif not str(data.get("text") or "").strip():
        problems.append(("text", "speak needs text"))
    return problems


def _search_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    if data.get("operation", "search") == "index":
        if not data.get("collection"):
            return [("collection", "index needs a collection name")]
        return []
    if not data.get("documents") and not data.get("collection"):
        return [("documents", "search needs documents or a collection")]
    return []


SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        "llm",
        "LLM",
        "ai",
        "Calls a language model (OpenAI, Anthropic, Gemini, Cohere or any OpenAI-compatible "
        "server) with system and user prompts; streams tokens live; optional JSON output.",
        LLMConfig,
        "{text, json?, model, finish_reason, usage, cost_usd}",
        checks=_llm_problems,
    ),
    NodeSpec(
        "agent",
        "Agent",
        "ai",
        "An LLM that calls HTTP tools until it answers or its step or cost budget runs out; "
        "each tool call is durable, so a crash resumes without repeating finished calls.",
        AgentConfig,
        "{text, json?, steps, tool_calls, model, finish_reason, usage, cost_usd}",
        receives=frozenset({"workflows"}),
        checks=_agent_problems,
        # an HTTP tool is a request the model may send again; tool workflows are children
        effects=lambda data: any(
            isinstance(tool, dict) and tool.get("url") for tool in data.get("tools") or ()
        ),
    ),
    NodeSpec(
        "embeddings",
        "Embeddings",
        "ai",
        "Turns text into vectors with an OpenAI-compatible, Gemini or Cohere model, or the "
        "bundled offline all-MiniLM-L6-v2.",
        EmbeddingsConfig,
        "{embeddings, model, dimensions, usage}",
    ),
    NodeSpec(
        "semantic_search",
        "Semantic search",
        "ai",
        "Ranks documents or a stored collection by cosine similarity to a query, or indexes "
        "documents into a collection.",
        SemanticSearchConfig,
        "search: {results: [{index, id, score, text, document}]}; index: {collection, count}",
        checks=_search_problems,
    ),
    NodeSpec(
        "vision",
        "Vision",
        "ai",
        "Describes an image from a URL, a stored file or base64, or generates an image.",
        VisionConfig,
        "analyze: {text, model, usage, cost_usd}; generate: {file, url?, revised_prompt?}",
        checks=_vision_problems,
    ),
    NodeSpec(
        "audio",
        "Audio",
        "ai",
        "Transcribes speech to text, or speaks text into an audio file in the file store.",
        AudioConfig,
        "transcribe: {text, language?}; speak: {file, format, bytes}",
        checks=_audio_problems,
    ),
)
