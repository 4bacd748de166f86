"""The `semantic_search` executor: cosine ranking over given documents or a collection,
and indexing documents into a collection kept in the file store."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

import msgspec

from flowmaestro.events.catalogue.ai import SemanticSearchConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.embeddings import embed, embedding_access

__all__ = ["Collection", "CollectionItem", "rank", "run_semantic_search"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class CollectionItem(msgspec.Struct, frozen=True, kw_only=True):
    """One indexed document: its id, text, the original document and its vector."""

    id: str
    text: str
    document: Any = None
    vector: list[float]


class Collection(msgspec.Struct, kw_only=True):
    """A stored collection: which model made its vectors, and its items."""

    provider: str
    model: str
    items: list[CollectionItem] = []


def rank(query: list[float], vectors: list[list[float]]) -> list[float]:
    """Cosine similarity of `query` to each vector."""
    if not vectors:
        return []
    import numpy as np  # on first use: numpy is a fifth of an idle executor's memory

    matrix = np.asarray(vectors, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(q)
    scores = (matrix @ q) / np.where(norms == 0, 1.0, norms)
    return [float(s) for s in scores]


def _text(document: Any, field: str) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, dict) and isinstance(document.get(field), str):
        return document[field]
    raise TerminalNodeError(
        f"a document is neither text nor an object with a string {field!r}", kind="invalid_input"
    )


def _id(document: Any, text: str) -> str:
    if isinstance(document, dict) and document.get("id") is not None:
        return str(document["id"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _file_name(collection: str) -> str:
    if not _NAME.match(collection):
        raise TerminalNodeError(
            f"collection name {collection!r}: use letters, digits, '-' and '_'",
            kind="invalid_config",
        )
    return f"collections/{collection}.json"


async def _load(ctx: NodeContext, collection: str) -> Collection | None:
    data = await ctx.files.get(_file_name(collection))
    return msgspec.json.decode(data, type=Collection) if data else None


async def run_semantic_search(ctx: NodeContext, config: SemanticSearchConfig) -> NodeResult:
    """Index documents into a collection, or rank documents or a collection by a query."""
    access = await embedding_access(
        ctx, config.provider, config.model, config.integration_id, config.base_url
    )
    texts = [_text(d, config.text_field) for d in config.documents]
    if config.operation == "index":
        assert config.collection is not None
        stored = await _load(ctx, config.collection)
        if stored is not None and (stored.provider, stored.model) != (
            access.provider,
            access.model,
        ):
            raise TerminalNodeError(
                f"collection {config.collection!r} holds {stored.provider}/{stored.model} "
                f"vectors, not {access.provider}/{access.model}",
                kind="invalid_config",
            )
        vectors, _ = await embed(access, texts)
        items = {i.id: i for i in (stored.items if stored else [])}
        for document, text, vector in zip(config.documents, texts, vectors, strict=True):
            item_id = _id(document, text)
            items[item_id] = CollectionItem(id=item_id, text=text, document=document, vector=vector)
        updated = Collection(
            provider=access.provider, model=access.model, items=list(items.values())
        )
        await ctx.files.put(_file_name(config.collection), msgspec.json.encode(updated))
        return NodeResult(
            output={"collection": config.collection, "indexed": len(texts), "count": len(items)}
        )
    if not config.query.strip():
        raise TerminalNodeError("search needs a query", kind="invalid_config")
    candidates: list[CollectionItem] = []
    if config.documents:
        vectors, _ = await embed(access, [config.query, *texts])
        query_vector, vectors = vectors[0], vectors[1:]
        candidates = [
            CollectionItem(id=_id(d, t), text=t, document=d, vector=v)
            for d, t, v in zip(config.documents, texts, vectors, strict=True)
        ]
    else:
        assert config.collection is not None
        stored = await _load(ctx, config.collection)
        if stored is None:
            raise TerminalNodeError(
                f"no collection {config.collection!r}; index documents into it first",
                kind="invalid_config",
            )
        # The query must be embedded by the model that made the collection's vectors.
        search_access = access if config.model else replace(access, model=stored.model)
        vectors, _ = await embed(search_access, [config.query])
        query_vector = vectors[0]
        candidates = stored.items
    scores = rank(query_vector, [c.vector for c in candidates])
    order = sorted(range(len(candidates)), key=lambda i: scores[i], reverse=True)
    results = [
        {
            "index": i,
            "id": candidates[i].id,
            "score": round(scores[i], 6),
            "text": candidates[i].text,
            "document": candidates[i].document,
        }
        for i in order
        if config.min_score is None or scores[i] >= config.min_score
    ][: config.top_k]
    return NodeResult(output={"query": config.query, "results": results})
