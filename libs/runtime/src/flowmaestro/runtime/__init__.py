"""FlowMaestro's JetStream plumbing: connection, topology, the log, pulls, embedded server."""

from flowmaestro.runtime.config import Settings, state_dir
from flowmaestro.runtime.connect import connect
from flowmaestro.runtime.embedded import EmbeddedNats, free_port
from flowmaestro.runtime.errors import (
    AppendConflictError,
    ExecutionNotFoundError,
    ExecutionStateError,
    PayloadTooLargeError,
    RuntimeLayerError,
)
from flowmaestro.runtime.ids import new_execution_id
from flowmaestro.runtime.log import ExecutionLog, tail
from flowmaestro.runtime.pull import ContinuousPull
from flowmaestro.runtime.topology import ensure_topology

__all__ = [
    "AppendConflictError",
    "ContinuousPull",
    "EmbeddedNats",
    "ExecutionLog",
    "ExecutionNotFoundError",
    "ExecutionStateError",
    "PayloadTooLargeError",
    "RuntimeLayerError",
    "Settings",
    "connect",
    "ensure_topology",
    "free_port",
    "new_execution_id",
    "state_dir",
    "tail",
]
