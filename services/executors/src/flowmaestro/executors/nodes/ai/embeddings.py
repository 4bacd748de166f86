"""The `embeddings` executor, and the embedding call shared with semantic search."""

from __future__ import annotations

import asyncio
from typing import Any

from flowmaestro.events.catalogue.ai import EmbeddingsConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.nodes.ai.access import Access, open_access
from flowmaestro.executors.nodes.ai.providers import adapter, cohere, google

__all__ = ["embed", "embedding_access", "run_embeddings"]

_BATCH = 256


async def embedding_access(
    ctx: NodeContext,
    provider: str,
    model: str,
    integration_id: str | None,
    base_url: str | None,
) -> Access:
    """How to reach the embedding provider (the local model needs no key)."""
    return await open_access(ctx, provider, model, integration_id, base_url, purpose="embed")


async def embed(
    access: Access, texts: list[str], dimensions: int | None = None
) -> tuple[list[list[float]], int]:
    """Vectors for `texts` and the input tokens the provider counted (0 when unknown)."""
    if not texts:
        return [], 0
    match access.provider:
        case "local":
            from flowmaestro.executors.nodes.ai.local_model import local_embedder  # numpy

            embedder = local_embedder()
            return await asyncio.to_thread(embedder.embed, texts), 0
        case "google":
            return await google.embed(access, texts, dimensions), 0
        case "cohere":
            return await cohere.embed(access, texts, dimensions), 0
        case _:
            return await _openai_embed(access, texts, dimensions)


async def _openai_embed(
    access: Access, texts: list[str], dimensions: int | None
) -> tuple[list[list[float]], int]:
    vectors: list[list[float]] = []
    tokens = 0
    extra: dict[str, Any] = {"dimensions": dimensions} if dimensions else {}
    openai_chat = await adapter("openai_chat")

    async with openai_chat.client(access) as sdk, openai_chat.sdk_failures(access.provider):
        for start in range(0, len(texts), _BATCH):
            response = await sdk.embeddings.create(
                model=access.model, input=texts[start : start + _BATCH], **extra
            )
            ordered = sorted(response.data, key=lambda d: d.index)
            vectors += [list(d.embedding) for d in ordered]
            tokens += response.usage.prompt_tokens if response.usage else 0
    return vectors, tokens


async def run_embeddings(ctx: NodeContext, config: EmbeddingsConfig) -> NodeResult:
    """Embed one text (output one vector) or a list (output one vector per text)."""
    access = await embedding_access(
        ctx, config.provider, config.model, config.integration_id, config.base_url
    )
    texts = [config.input] if isinstance(config.input, str) else list(config.input)
    vectors, tokens = await embed(access, texts, config.dimensions)
    return NodeResult(
        output={
            "embeddings": vectors,
            "model": access.model,
            "dimensions": len(vectors[0]) if vectors else 0,
            "usage": {"input_tokens": tokens},
        }
    )
