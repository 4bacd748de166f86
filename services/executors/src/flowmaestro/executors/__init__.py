"""FlowMaestro executor pools, one per node type."""

from flowmaestro.executors.context import Deferred, Executor, Integration, NodeContext, NodeResult
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
