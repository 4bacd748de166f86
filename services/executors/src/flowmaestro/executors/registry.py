"""The one explicit table of executors, keyed by node type (the catalogue's names)."""

from __future__ import annotations

from flowmaestro.executors.context import Executor
from flowmaestro.executors.nodes import ai, core

__all__ = ["EXECUTORS"]

EXECUTORS: dict[str, Executor] = {
    "input": core.run_input,
    "output": core.run_output,
    "echo": core.run_echo,
    "transform": core.run_transform,
    "conditional": core.run_conditional,
    "switch": core.run_switch,
    "variable": core.run_variable,
    "wait": core.run_wait,
    "user_input": core.run_user_input,
    "llm": ai.run_llm,
    "agent": ai.run_agent,
    "embeddings": ai.run_embeddings,
    "semantic_search": ai.run_semantic_search,
    "vision": ai.run_vision,
    "audio": ai.run_audio,
}
