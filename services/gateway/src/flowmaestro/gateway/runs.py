"""Starting, cancelling and answering executions by appending to their logs.

Ownership is read from the log itself (`execution.started` names the owner), so these
work the moment a run starts, before the projector has caught up, and while PostgreSQL is
down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from flowmaestro.events import (
    DEFAULT_LIMITS,
    Actor,
    DefinitionError,
    ExecutionCancelRequested,
    ExecutionStarted,
    InputValidationError,
    Limits,
    Origin,
    TriggerRef,
    WorkflowDefinition,
    check_inputs,
    parse_definition,
)
from flowmaestro.events.answers import AnswerRejected
from flowmaestro.events.names import control_key, is_valid_token
from flowmaestro.gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from flowmaestro.gateway.models import ExecutionStart, VersionOut
from flowmaestro.runtime import ExecutionLog, ExecutionNotFoundError, new_execution_id, tracing
from flowmaestro.runtime.answers import submit_answer
from flowmaestro.runtime.control import pause_execution, resume_execution
from flowmaestro.runtime.errors import ExecutionStateError

__all__ = ["answer", "cancel", "owned_start", "pause", "resume", "start_execution"]

log_line = structlog.get_logger("flowmaestro.gateway")


async def owned_start(log: ExecutionLog, owner_id: str, execution_id: str) -> ExecutionStarted:
    """The run's first event when `owner_id` owns it; `NotFoundError` otherwise."""
    if not is_valid_token(execution_id):
        raise NotFoundError(f"no execution {execution_id!r}")
    first = await log.read_raw(execution_id, limit=1)
    if not first and (last := await log.last_seq(execution_id)):
        # a replica behind the leader answered (a run started a moment ago): ask again
        first = await log.read_raw(execution_id, limit=1, through=last)
    if first:
        started = msgspec.json.decode(first[0][1], type=ExecutionStarted)
        if started.owner_id == owner_id:
            return started
    raise NotFoundError(f"no execution {execution_id!r}")


async def start_execution(
    log: ExecutionLog,
    owner_id: str,
    version: VersionOut,
    inputs: dict[str, Any],
    test: bool = False,
    workflows: dict[str, WorkflowDefinition] | None = None,
    actor: Actor | None = None,
    limits: Limits = DEFAULT_LIMITS,
    execution_id: str | None = None,
    trigger: TriggerRef | None = None,
    origin: Origin | None = None,
    check: bool = True,
) -> ExecutionStart:
    """Validate the definition (against the operator's current `limits`) and the inputs,
    and append `execution.started` (under `execution_id` when given: a second start of
    it raises `AppendConflictError`). `origin`: the earlier execution it derives from;
    `check=False` keeps inputs as given (a node test, whose upstream is set by hand)."""
    try:
        definition = parse_definition(version.definition, limits)
    except DefinitionError as exc:
        raise ValidationFailedError.from_problems(
            "the stored workflow is invalid", exc.problems
        ) from exc
    try:
        values = check_inputs(definition, inputs) if check else dict(inputs)
    except InputValidationError as exc:
        raise ValidationFailedError.from_problems("invalid inputs", exc.problems) from exc
    execution_id = execution_id or new_execution_id()
    with tracing.span(
        "gateway",
        "execution.start",
        kind="producer",
        attributes={
            "flowmaestro.execution_id": execution_id,
            "flowmaestro.workflow_id": version.workflow_id,
        },
    ) as span:
        # the execution's trace: this span's, else the caller's, else a new one
        traceparent = (
            tracing.span_traceparent(span, None)
            or tracing.current_traceparent()
            or tracing.new_traceparent()
        )
        started = ExecutionStarted(
            execution_id=execution_id,
            workflow_id=version.workflow_id,
            workflow_version=version.version,
            definition=definition,
            inputs=values,
            started_at=datetime.now(UTC),
            test=test,
            owner_id=owner_id,
            workflows=workflows or {},
            actor=actor,
            trigger=trigger,
            traceparent=traceparent,
            origin=origin,
        )
        await log.start(started)
    log_line.info(
        "gateway.execution_started",
        execution_id=execution_id,
        workflow_id=version.workflow_id,
        trace_id=tracing.trace_id_of(traceparent),
    )
    return ExecutionStart(
        execution_id=started.execution_id,
        workflow_id=version.workflow_id,
        workflow_version=version.version,
        status="pending",  # nothing is scheduled until the scheduler reads the start
        started_at=started.started_at,
        test=test,
    )


async def cancel(
    log: ExecutionLog,
    owner_id: str,
    execution_id: str,
    reason: str | None,
    actor: Actor | None = None,
) -> None:
    """Ask the run to stop (running or paused); `ConflictError` when it has already ended."""
    await owned_start(log, owner_id, execution_id)
    _, ended = await log.ending(execution_id)
    if ended is not None:
        raise ConflictError(f"execution {execution_id} has already ended", code="EXECUTION_ENDED")
    await log.append(
        execution_id,
        ExecutionCancelRequested(requested_at=datetime.now(UTC), reason=reason, actor=actor),
        control_key(execution_id, "cancel"),
    )


async def pause(log: ExecutionLog, owner_id: str, execution_id: str, actor: Actor) -> None:
    """Hold a running execution; `ConflictError` (`NOT_RUNNING`) otherwise."""
    await owned_start(log, owner_id, execution_id)
    try:
        await pause_execution(log, execution_id, actor)
    except ExecutionStateError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc


async def resume(log: ExecutionLog, owner_id: str, execution_id: str, actor: Actor) -> None:
    """Let a paused execution carry on; `ConflictError` (`NOT_PAUSED`) otherwise."""
    await owned_start(log, owner_id, execution_id)
    try:
        await resume_execution(log, execution_id, actor)
    except ExecutionStateError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc


async def answer(
    log: ExecutionLog,
    owner_id: str,
    execution_id: str,
    node_id: str,
    value: Any,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """Answer a waiting human-input node; the answer is checked against its form."""
    await owned_start(log, owner_id, execution_id)
    try:
        event = await submit_answer(log, execution_id, node_id, value, actor)
    except ExecutionNotFoundError as exc:
        raise NotFoundError(str(exc)) from exc
    except AnswerRejected as exc:
        codes = {p.code for p in exc.problems}
        if "not_found" in codes:
            raise NotFoundError(f"no human-input node {node_id!r} in this execution") from exc
        if "not_waiting" in codes:
            raise ConflictError(
                str(exc),
                ValidationFailedError.from_problems("", exc.problems).details,
                code="NOT_WAITING",
            ) from exc
        raise ValidationFailedError.from_problems("the answer is invalid", exc.problems) from exc
    return {"node_id": node_id, "attempt": event.attempt, "output": event.output}
