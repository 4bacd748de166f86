"""FlowMaestro's JetStream plumbing: connection, topology, the log, pulls, embedded server.

The names below load on first use (PEP 562), so a process that needs one part (the `up`
supervisor: the embedded server and credentials) does not import NATS clients, logging
and the log for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmaestro.runtime.config import Settings, state_dir
    from flowmaestro.runtime.connection import connect
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

_HOMES = {
    "AppendConflictError": "errors",
    "ContinuousPull": "pull",
    "EmbeddedNats": "embedded",
    "ExecutionLog": "log",
    "ExecutionNotFoundError": "errors",
    "ExecutionStateError": "errors",
    "PayloadTooLargeError": "errors",
    "RuntimeLayerError": "errors",
    "Settings": "config",
    "connect": "connection",
    "ensure_topology": "topology",
    "free_port": "embedded",
    "new_execution_id": "ids",
    "state_dir": "config",
    "tail": "log",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
