"""The runtime's error tree: transport problems kept apart from domain errors."""

from __future__ import annotations

__all__ = [
    "AppendConflictError",
    "ExecutionNotFoundError",
    "NatsUnreachableError",
    "RuntimeLayerError",
]


class RuntimeLayerError(Exception):
    """Root of every error raised by `flowmaestro.runtime`."""


class NatsUnreachableError(RuntimeLayerError):
    """No NATS server answered at the URL, or the connection to it is gone for good."""


class ExecutionNotFoundError(RuntimeLayerError):
    """No log exists for the execution id."""

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(f"no execution {execution_id!r}")


class AppendConflictError(RuntimeLayerError):
    """An append expected a different last sequence for the execution's subject."""
