"""Executor of `merge`: combines what its upstream nodes output."""

from __future__ import annotations

from typing import Any

from flowmaestro.events.catalogue import MergeConfig
from flowmaestro.executors.context import NodeContext, NodeResult

__all__ = ["deep_merge", "run_merge"]


def deep_merge(base: Any, other: Any) -> Any:
    """`other` merged into `base`: objects key by key (recursively), anything else replaced."""
    if isinstance(base, dict) and isinstance(other, dict):
        merged = dict(base)
        for key, value in other.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
        return merged
    return other


async def run_merge(ctx: NodeContext, config: MergeConfig) -> NodeResult:
    """Combine the upstream outputs that arrived, in edge order, by `strategy`."""
    outputs = ctx.command.upstream
    if config.strategy == "array":
        return NodeResult(output=list(outputs.values()))
    if config.strategy == "deep":
        merged: Any = {}
        for value in outputs.values():
            merged = deep_merge(merged, value)
        return NodeResult(output=merged)
    return NodeResult(output=dict(outputs))
