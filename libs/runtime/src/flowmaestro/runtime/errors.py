"""The runtime's error tree: transport problems kept apart from domain errors."""

from __future__ import annotations

__all__ = [
    "AppendConflictError",
    "ExecutionNotFoundError",
    "ExecutionStateError",
    "NatsUnreachableError",
    "PayloadTooLargeError",
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


class ExecutionStateError(RuntimeLayerError):
    """The execution is not in a state the request applies to (pausing a paused run)."""

    def __init__(self, execution_id: str, status: str, wanted: str, code: str) -> None:
        self.execution_id = execution_id
        self.status = status
        self.code = code
        super().__init__(f"execution {execution_id} is {status}, not {wanted}")


class AppendConflictError(RuntimeLayerError):
    """An append expected a different last sequence for the execution's subject."""


class PayloadTooLargeError(RuntimeLayerError):
    """A message is larger than the connected server accepts (its `max_payload`).

    Raised before sending: a server that receives one closes the connection, which would
    stall everything else sent over it.
    """

    def __init__(self, subject: str, size: int, limit: int) -> None:
        self.subject = subject
        self.size = size
        self.limit = limit
        super().__init__(
            f"a message of {size} bytes is over the server's limit of {limit} bytes ({subject})"
        )
