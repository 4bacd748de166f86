"""Executors of the AI node types: llm, agent, embeddings, semantic_search, vision, audio."""

from flowmaestro.executors.nodes.ai.agent import run_agent
from flowmaestro.executors.nodes.ai.audio import run_audio
from flowmaestro.executors.nodes.ai.embeddings import run_embeddings
from flowmaestro.executors.nodes.ai.llm import run_llm
from flowmaestro.executors.nodes.ai.search import run_semantic_search
from flowmaestro.executors.nodes.ai.vision import run_vision

__all__ = [
    "run_agent",
    "run_audio",
    "run_embeddings",
    "run_llm",
    "run_semantic_search",
    "run_vision",
]
