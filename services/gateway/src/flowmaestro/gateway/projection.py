"""Pure mapping from the execution log to read-model rows (no I/O, no clock).

The same log always gives the same rows, which is what makes the projector idempotent
and a rebuild identical.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from flowmaestro.events import (
    CANCELLED_NODE,
    Event,
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionPauseRequested,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionState,
    NodeCompleted,
    NodeFailed,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeStatus,
    NodeWaiting,
    event_to_dict,
    reported_node_status,
    reported_status,
)
from flowmaestro.gateway.db import storable

__all__ = [
    "EXECUTION_COLUMNS",
    "LEVELS",
    "LOG_COLUMNS",
    "ExecutionRow",
    "LogRow",
    "current_state",
    "event_level",
    "event_message",
    "event_tag",
    "event_time",
    "execution_row",
    "execution_source",
    "log_rows",
    "storable",
]


class ExecutionRow(NamedTuple):
    """One `executions` row, fields in column order (so it binds positionally)."""

    id: str
    owner_id: str | None
    workflow_id: str | None
    workflow_version: int | None
    test: bool
    status: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    error: dict[str, Any] | None
    failed_node: str | None
    nodes: dict[str, Any]
    started_at: datetime
    completed_at: datetime | None
    duration_ms: float | None
    last_seq: int
    event_count: int
    variables: dict[str, Any]
    batch_id: str | None
    trigger_id: str | None
    trigger_kind: str | None
    source: str
    """How the run started: `manual`, a trigger's kind, or `batch` (see `execution_source`)."""


class LogRow(NamedTuple):
    """One `execution_logs` row, fields in column order."""

    execution_id: str
    seq: int
    node_id: str | None
    level: str
    event: str
    message: str
    metadata: dict[str, Any]
    created_at: datetime


EXECUTION_COLUMNS: tuple[str, ...] = ExecutionRow._fields
LOG_COLUMNS: tuple[str, ...] = LogRow._fields
LEVELS = ("info", "warn", "error")
"""Log levels, least to most severe."""


def event_tag(event: Event) -> str:
    """The event's stable type tag, such as `node.completed`."""
    return str(event.__struct_config__.tag)


def event_time(event: Event) -> datetime | None:
    """When the event happened, for the events that say so."""
    match event:
        case ExecutionStarted(started_at=at) | ExecutionCancelRequested(requested_at=at):
            return at
        case ExecutionPauseRequested(requested_at=at) | ExecutionResumed(resumed_at=at):
            return at
        case NodeScheduled(scheduled_at=at) | NodeCompleted(completed_at=at):
            return at
        case NodeFailed(failed_at=at) | NodeWaiting(waiting_since=at):
            return at
        case ExecutionCompleted(completed_at=at) | ExecutionFailed(failed_at=at):
            return at
        case ExecutionCancelled(cancelled_at=at):
            return at
        case NodeRetrying() | NodeRetryDue() | NodeSkipped():
            return None
    return None


def event_level(event: Event) -> str:
    """`error`, `warn` or `info`."""
    if isinstance(event, NodeFailed | ExecutionFailed):
        return "error"
    if isinstance(
        event,
        NodeRetrying | ExecutionCancelRequested | ExecutionCancelled | ExecutionPauseRequested,
    ):
        return "warn"
    return "info"


def event_message(event: Event) -> str:
    """A one-line description of the event."""
    match event:
        case ExecutionStarted():
            return "execution started"
        case ExecutionCancelRequested(reason=reason):
            return "cancel requested" + (f": {reason}" if reason else "")
        case ExecutionPauseRequested():
            return "execution paused"
        case ExecutionResumed():
            return "execution resumed"
        case NodeScheduled(node_id=n, attempt=a):
            return f"node {n} started (attempt {a})"
        case NodeCompleted(node_id=n, duration_ms=d):
            return f"node {n} completed" + (f" in {d:.1f} ms" if d is not None else "")
        case NodeFailed(node_id=n, attempt=a, error=e):
            return f"node {n} failed (attempt {a}): {e.message}"
        case NodeWaiting(node_id=n, request=r):
            return f"node {n} is waiting for input" if r else f"node {n} is waiting"
        case NodeRetrying(node_id=n, attempt=a):
            return f"node {n} will retry as attempt {a}"
        case NodeRetryDue(node_id=n, attempt=a):
            return f"node {n} retry {a} is due"
        case NodeSkipped(node_id=n):
            return f"node {n} skipped"
        case ExecutionCompleted():
            return "execution completed"
        case ExecutionFailed(node_id=n, error=e):
            return f"execution failed at {n}: {e.message}"
        case ExecutionCancelled():
            return "execution cancelled"
    return event_tag(event)


def _metadata(event: Event) -> dict[str, Any]:
    data = event_to_dict(event)
    data.pop("type", None)
    data.pop("definition", None)  # the whole workflow; kept in the log, not in every row
    return storable(data)


def log_rows(
    execution_id: str, records: list[tuple[int, Event]], last_time: datetime | None = None
) -> list[LogRow]:
    """One row per event; events without a time take the previous event's (`last_time`
    for the first, when the records continue a log)."""
    rows: list[LogRow] = []
    for seq, event in records:
        last_time = event_time(event) or last_time
        assert last_time is not None, "a log begins with execution.started, which has a time"
        rows.append(
            LogRow(
                execution_id=execution_id,
                seq=seq,
                node_id=getattr(event, "node_id", None),
                level=event_level(event),
                event=event_tag(event),
                message=storable(event_message(event)),
                metadata=_metadata(event),
                created_at=last_time,
            )
        )
    return rows


def _nodes(state: ExecutionState) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for node_id, definition in state.definition.nodes.items():
        node = state.nodes[node_id]
        status = reported_node_status(state, node)
        nodes[node_id] = msgspec.to_builtins(
            {
                "type": definition.type,
                "status": status,
                "attempt": node.attempt,
                "output": node.output,
                "output_ref": node.output_ref,
                "reused_from": node.reused,
                "error": node.error,
                "started_at": node.scheduled_at,
                "completed_at": node.ended_at,
                "duration_ms": node.attempts[-1].duration_ms if node.attempts else None,
                "attempts": [
                    {
                        "attempt": a.attempt,
                        "status": status
                        if status == CANCELLED_NODE and a is node.attempts[-1]
                        else str(a.status),
                        "started_at": a.scheduled_at,
                        "completed_at": a.ended_at,
                        "duration_ms": a.duration_ms,
                        "error": a.error,
                    }
                    for a in node.attempts
                ],
            }
        )
    return nodes


def current_state(nodes: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """What the run holds now, from a row's `nodes` and `variables` (both folded from the
    log): each completed node's output and the variables set so far.

    `nodes` maps node id to output for completed nodes; outputs kept in the object store
    (too large to inline) appear under `output_refs` instead. Computed when read, so the
    row holds each output once.
    """
    outputs: dict[str, Any] = {}
    refs: dict[str, str] = {}
    for node_id, node in nodes.items():
        if node.get("status") != NodeStatus.COMPLETED:
            continue
        if node.get("output_ref") is not None:
            refs[node_id] = node["output_ref"]
        else:
            outputs[node_id] = node.get("output")
    return {"nodes": outputs, "variables": variables, "output_refs": refs}


def execution_source(state: ExecutionState) -> str:
    """How a run started, from what its `execution.started` recorded: `batch` (a row of a
    batch), the kind of the trigger that fired it, or `manual` (API, CLI, canvas)."""
    if state.batch_id is not None:
        return "batch"
    return state.trigger.kind if state.trigger else "manual"


def execution_row(state: ExecutionState) -> ExecutionRow:
    """The `executions` row of a folded state."""
    duration = None
    if state.ended_at is not None:
        duration = (state.ended_at - state.started_at).total_seconds() * 1000
    return ExecutionRow(
        id=state.execution_id,
        owner_id=state.owner_id,
        workflow_id=storable(state.workflow_id),
        workflow_version=state.workflow_version,
        test=state.test,
        status=reported_status(state),
        inputs=storable(msgspec.to_builtins(state.inputs)),
        outputs=storable(msgspec.to_builtins(state.outputs)),
        error=storable(msgspec.to_builtins(state.error)) if state.error else None,
        failed_node=state.failed_node,
        nodes=storable(_nodes(state)),
        started_at=state.started_at,
        completed_at=state.ended_at,
        duration_ms=duration,
        last_seq=state.last_seq,
        event_count=state.event_count,
        variables=storable(msgspec.to_builtins(state.vars)),
        batch_id=state.batch_id,
        trigger_id=state.trigger.trigger_id if state.trigger else None,
        trigger_kind=state.trigger.kind if state.trigger else None,
        source=execution_source(state),
    )
