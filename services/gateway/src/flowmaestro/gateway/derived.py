"""Executions derived from an earlier one: re-run, retry, replay, fork and node tests.

The earlier execution must belong to the caller (another tenant's is a 404). What the new
execution may reuse is built here from the earlier execution's own log, never taken from
the client, and is bounded in bytes (`GatewaySettings.reuse_bytes`): results past the
bound run again; outputs set by hand past it are refused (413).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events import (
    Actor,
    Event,
    ExecutionStarted,
    Origin,
    WorkflowDefinition,
    decode_event,
    fold,
    reported_status,
)
from flowmaestro.events.events import OriginKind
from flowmaestro.events.reuse import (
    NodeReport,
    OriginError,
    ReplayPlan,
    bounded,
    compare,
    fork_origin,
    node_test_origin,
    replay_origin,
    retry_origin,
)
from flowmaestro.gateway.errors import (
    ConflictError,
    NotFoundError,
    TooLargeError,
    ValidationFailedError,
)
from flowmaestro.gateway.models import ExecutionStart, ExecutionStatusName, VersionOut
from flowmaestro.gateway.runs import owned_start, start_execution
from flowmaestro.gateway.services import Services

__all__ = [
    "MAX_ORIGIN_EVENTS",
    "DerivedStart",
    "ExecutionReport",
    "ReplayOutcome",
    "derive",
    "fork",
    "original",
    "replay",
    "report",
    "rerun",
    "retry",
    "test_node",
]

MAX_ORIGIN_EVENTS = 100_000
"""An execution with a longer log cannot be derived from (413)."""


class DerivedStart(msgspec.Struct, kw_only=True):
    """A run just started from an earlier one."""

    execution_id: str
    workflow_id: str
    workflow_version: int
    status: ExecutionStatusName
    started_at: datetime
    test: bool = False
    origin_id: str | None
    """The earlier execution (None for a node test on inputs edited by hand)."""
    kind: OriginKind
    reusable: list[str]
    """Nodes with a recorded result: each completes from it when what feeds it is
    unchanged, without running."""
    left_out: list[str] = []
    """Recorded results over the size bound: those nodes run again."""


class ReplayOutcome(msgspec.Struct, kw_only=True):
    """A replay's plan, and the run it started (none when `dry`)."""

    dry: bool
    plan: ReplayPlan
    execution: DerivedStart | None = None


class ExecutionReport(msgspec.Struct, kw_only=True):
    """A derived execution compared node by node with the one it came from."""

    execution_id: str
    origin_id: str
    kind: OriginKind
    status: str
    original_status: str
    nodes: list[NodeReport]
    counts: dict[str, int]
    """How many nodes have each verdict."""


async def original(
    services: Services, owner_id: str, execution_id: str
) -> tuple[ExecutionStarted, list[tuple[int, Event]]]:
    """The caller's execution: its first event and its whole log (bounded)."""
    started = await owned_start(services.log, owner_id, execution_id)
    raw = await services.log.read_raw(execution_id, limit=MAX_ORIGIN_EVENTS + 1)
    if len(raw) > MAX_ORIGIN_EVENTS:
        raise TooLargeError(
            f"execution {execution_id} has over {MAX_ORIGIN_EVENTS} events", None, MAX_ORIGIN_EVENTS
        )
    return started, [(seq, decode_event(data)) for seq, data in raw]


def _refused(exc: OriginError) -> Exception:
    if exc.code == "too_large":
        return TooLargeError(str(exc), None, 0)
    if exc.code == "not_found":
        return NotFoundError(str(exc))
    return ValidationFailedError(
        str(exc), [{"field": exc.field, "code": exc.code, "message": str(exc)}]
    )


def _version_of(started: ExecutionStarted, definition: WorkflowDefinition) -> VersionOut:
    return VersionOut(
        workflow_id=started.workflow_id or "",
        version=started.workflow_version or 0,
        definition=msgspec.to_builtins(definition),
        created_at=started.started_at,
    )


async def derive(
    services: Services,
    actor: Actor,
    started: ExecutionStarted,
    origin: Origin,
    definition: WorkflowDefinition | None = None,
    version: VersionOut | None = None,
    workflows: dict[str, WorkflowDefinition] | None = None,
) -> DerivedStart:
    """Start a run like `started` (or on `version`/`definition`), deriving from `origin`;
    it may call the original's workflows, and `workflows` besides."""
    chosen = version or _version_of(started, definition or started.definition)
    called = {**(workflows or {}), **started.workflows}
    return await _start(services, actor, chosen, started.inputs, started.test, called, origin)


async def _start(
    services: Services,
    actor: Actor,
    version: VersionOut,
    inputs: dict[str, Any],
    test: bool,
    workflows: dict[str, WorkflowDefinition],
    origin: Origin,
) -> DerivedStart:
    """Append the derived run's start, with what it reuses bounded in bytes."""
    try:
        origin, left_out = bounded(origin, services.settings.reuse_bytes)
    except OriginError as exc:
        raise _refused(exc) from exc
    begun: ExecutionStart = await start_execution(
        services.log,
        actor.user_id,
        version,
        inputs,
        test=test,
        workflows=workflows,
        actor=actor,
        limits=services.settings.limits,
        origin=origin,
        check=origin.kind != "test",  # a node test's upstream is given, not its inputs
    )
    return DerivedStart(
        **msgspec.structs.asdict(begun),
        origin_id=origin.execution_id,
        kind=origin.kind,
        reusable=list(origin.reuse),
        left_out=left_out,
    )


async def rerun(services: Services, actor: Actor, execution_id: str) -> DerivedStart:
    """The same workflow version and inputs again, linked to the original; nothing reused."""
    started = await owned_start(services.log, actor.user_id, execution_id)
    return await derive(services, actor, started, Origin(execution_id=execution_id, kind="rerun"))


async def retry(services: Services, actor: Actor, execution_id: str, node_id: str) -> DerivedStart:
    """Run `node_id` and what depends on it again, reusing every other recorded result."""
    started, records = await original(services, actor.user_id, execution_id)
    try:
        origin = retry_origin(execution_id, records, node_id)
    except OriginError as exc:
        raise _refused(exc) from exc
    return await derive(services, actor, started, origin)


async def replay(
    services: Services,
    actor: Actor,
    execution_id: str,
    definition: WorkflowDefinition,
    version: VersionOut | None,
    dry: bool,
    workflows: dict[str, WorkflowDefinition] | None = None,
) -> ReplayOutcome:
    """Replay against `definition` (which may call `workflows`): unchanged nodes reuse
    their results, the rest run."""
    started, records = await original(services, actor.user_id, execution_id)
    origin, plan = replay_origin(execution_id, records, definition)
    if dry:
        return ReplayOutcome(dry=True, plan=plan)
    execution = await derive(services, actor, started, origin, definition, version, workflows)
    return ReplayOutcome(dry=False, plan=plan, execution=execution)


async def fork(
    services: Services,
    actor: Actor,
    execution_id: str,
    at: int,
    replaced: dict[str, Any] | None,
) -> DerivedStart:
    """Start from the first `at` events of the log, one node's output optionally replaced."""
    started, records = await original(services, actor.user_id, execution_id)
    try:
        origin = fork_origin(execution_id, records, at, replaced)
    except OriginError as exc:
        raise _refused(exc) from exc
    return await derive(services, actor, started, origin)


async def test_node(
    services: Services,
    actor: Actor,
    version: VersionOut,
    definition: WorkflowDefinition,
    node_id: str,
    execution_id: str | None,
    upstream: dict[str, Any] | None,
    inputs: dict[str, Any] | None,
    workflows: dict[str, WorkflowDefinition] | None = None,
) -> DerivedStart:
    """Run one node alone on what it received in `execution_id`, or on `upstream` given
    by hand; every other node completes from those outputs or is skipped."""
    try:
        if execution_id is not None:
            started, records = await original(services, actor.user_id, execution_id)
            origin = node_test_origin(definition, node_id, execution_id, records)
            values = started.inputs if inputs is None else inputs
        else:
            origin = node_test_origin(definition, node_id, upstream=upstream or {})
            values = inputs or {}
    except OriginError as exc:
        raise _refused(exc) from exc
    return await _start(services, actor, version, values, True, workflows or {}, origin)


async def report(services: Services, owner_id: str, execution_id: str) -> ExecutionReport:
    """Compare a derived execution that has ended with the one it came from."""
    started, records = await original(services, owner_id, execution_id)
    origin = started.origin
    if origin is None or origin.execution_id is None:
        raise ConflictError(
            f"execution {execution_id} was not derived from another", code="NOT_DERIVED"
        )
    state = fold(records)
    if not state.status.terminal:
        raise ConflictError(f"execution {execution_id} has not ended", code="NOT_ENDED")
    _, earlier = await original(services, owner_id, origin.execution_id)
    before = fold(earlier)
    nodes = compare(before, state)
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.verdict] = counts.get(node.verdict, 0) + 1
    return ExecutionReport(
        execution_id=execution_id,
        origin_id=origin.execution_id,
        kind=origin.kind,
        status=reported_status(state),
        original_status=reported_status(before),
        nodes=nodes,
        counts=counts,
    )
