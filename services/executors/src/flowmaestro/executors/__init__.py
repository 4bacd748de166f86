"""FlowMaestro executor pools, one per node type.

Names load on first use, so `python -m flowmaestro.executors` can set up its process
before anything heavy is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmaestro.executors.context import (
        Deferred,
        Executor,
        Integration,
        NodeContext,
        NodeResult,
    )
    from flowmaestro.executors.errors import NodeError, RetryableNodeError, TerminalNodeError
    from flowmaestro.executors.registry import EXECUTORS
    from flowmaestro.executors.runtime import ExecutorWorker

__all__ = [
    "EXECUTORS",
    "Deferred",
    "Executor",
    "ExecutorWorker",
    "Integration",
    "NodeContext",
    "NodeError",
    "NodeResult",
    "RetryableNodeError",
    "TerminalNodeError",
]

_WHERE = {
    "Deferred": "context",
    "Executor": "context",
    "Integration": "context",
    "NodeContext": "context",
    "NodeResult": "context",
    "NodeError": "errors",
    "RetryableNodeError": "errors",
    "TerminalNodeError": "errors",
    "EXECUTORS": "registry",
    "ExecutorWorker": "runtime",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
