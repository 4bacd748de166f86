"""Client messages of the live tail (SSE and WebSocket), made from log events and chunks.

Each is `{type, timestamp, execution_id, node_id?, data}`; `data.seq` is the stream
sequence and `data.event` the log event's tag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowmaestro.events import (
    Event,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionPauseRequested,
    ExecutionResumed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeWaiting,
    event_to_dict,
)
from flowmaestro.events.names import LiveMessage
from flowmaestro.gateway.projection import event_tag, event_time

__all__ = ["chunk_message", "client_type", "event_message"]


def client_type(event: Event) -> LiveMessage:
    """The client-facing type of a log event."""
    match event:
        case ExecutionStarted():
            return LiveMessage.EXECUTION_STARTED
        case ExecutionCompleted():
            return LiveMessage.EXECUTION_COMPLETED
        case ExecutionFailed():
            return LiveMessage.EXECUTION_FAILED
        case ExecutionCancelled():
            return LiveMessage.EXECUTION_CANCELLED
        case ExecutionPauseRequested():
            return LiveMessage.EXECUTION_PAUSED
        case ExecutionResumed():
            return LiveMessage.EXECUTION_RESUMED
        case NodeScheduled():
            return LiveMessage.NODE_STARTED
        case NodeCompleted():
            return LiveMessage.NODE_COMPLETED
        case NodeFailed():
            return LiveMessage.NODE_FAILED
        case NodeRetrying():
            return LiveMessage.NODE_RETRY
        case NodeSkipped():
            return LiveMessage.NODE_SKIPPED
        case NodeWaiting(request=request) if request is not None:
            return LiveMessage.USER_INPUT_REQUIRED
    return LiveMessage.EXECUTION_PROGRESS


def event_message(
    execution_id: str, seq: int, event: Event, fallback_time: datetime
) -> dict[str, Any]:
    """The client message for one log event."""
    data = event_to_dict(event)
    data.pop("type", None)
    data.pop("definition", None)
    data["event"] = event_tag(event)
    data["seq"] = seq
    message: dict[str, Any] = {
        "type": client_type(event),
        "timestamp": (event_time(event) or fallback_time).isoformat(),
        "execution_id": execution_id,
        "data": data,
    }
    node_id = getattr(event, "node_id", None)
    if node_id is not None:
        message["node_id"] = node_id
    return message


def chunk_message(execution_id: str, node_id: str, chunk: str, at: datetime) -> dict[str, Any]:
    """A `node:stream` message for one live chunk (an LLM token, say)."""
    return {
        "type": LiveMessage.NODE_STREAM,
        "timestamp": at.isoformat(),
        "execution_id": execution_id,
        "node_id": node_id,
        "data": {"chunk": chunk},
    }
