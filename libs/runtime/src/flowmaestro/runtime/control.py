"""A person's pause and resume of an execution, appended to its log.

Each append carries a dedupe key numbered by the earlier requests of its kind, so a
retried or doubled request is written once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flowmaestro.events import (
    Actor,
    ExecutionPauseRequested,
    ExecutionResumed,
    ExecutionStatus,
    evolve,
)
from flowmaestro.events.names import control_key
from flowmaestro.events.state import ExecutionState
from flowmaestro.runtime.errors import ExecutionNotFoundError, ExecutionStateError
from flowmaestro.runtime.log import ExecutionLog

__all__ = ["pause_execution", "resume_execution"]


async def _read(
    log: ExecutionLog, execution_id: str, kind: type[ExecutionPauseRequested | ExecutionResumed]
) -> tuple[ExecutionState, int]:
    """The folded state and how many `kind` events the log holds."""
    state: ExecutionState | None = None
    count = 0
    for seq, event in await log.read(execution_id):
        state = evolve(state, event, seq)
        count += isinstance(event, kind)
    if state is None:
        raise ExecutionNotFoundError(execution_id)
    return state, count


async def pause_execution(
    log: ExecutionLog, execution_id: str, actor: Actor | None
) -> ExecutionPauseRequested:
    """Hold a running execution. `ExecutionStateError` (`NOT_RUNNING`) when it is paused,
    being cancelled or over; `ExecutionNotFoundError` when there is no such log."""
    state, count = await _read(log, execution_id, ExecutionPauseRequested)
    if state.status is not ExecutionStatus.RUNNING or state.cancel_requested:
        status = "cancelling" if state.cancel_requested else str(state.status)
        raise ExecutionStateError(execution_id, status, "running", "NOT_RUNNING")
    event = ExecutionPauseRequested(requested_at=datetime.now(UTC), actor=actor)
    await log.append(execution_id, event, control_key(execution_id, "pause", count))
    return event


async def resume_execution(
    log: ExecutionLog, execution_id: str, actor: Actor | None
) -> ExecutionResumed:
    """Let a paused execution carry on. `ExecutionStateError` (`NOT_PAUSED`) otherwise."""
    state, count = await _read(log, execution_id, ExecutionResumed)
    if state.status is not ExecutionStatus.PAUSED:
        raise ExecutionStateError(execution_id, str(state.status), "paused", "NOT_PAUSED")
    event = ExecutionResumed(resumed_at=datetime.now(UTC), actor=actor)
    await log.append(execution_id, event, control_key(execution_id, "resume", count))
    return event
