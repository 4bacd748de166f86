"""`decide(state, now)`: what must happen next for an execution, as idempotent decisions.

Every decision carries a key that is stable across replays (execution, node, attempt,
kind); the scheduler uses it as the `Nats-Msg-Id`, so re-issuing a decision after a crash
is a no-op. Keys already issued can be passed in `issued` to skip building them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container
from datetime import datetime, timedelta
from typing import Any

import msgspec

from flowmaestro.events import composite, names
from flowmaestro.events.catalogue import node_spec
from flowmaestro.events.catalogue.base import SETTING_FIELDS
from flowmaestro.events.commands import ExecuteNode
from flowmaestro.events.decisions import (
    Append,
    Decision,
    Dispatch,
    ReportChild,
    StartTimer,
    StopExecution,
    unresolvable,
)
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.events import (
    ErrorInfo,
    Event,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    NodeCompleted,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    Reusable,
    ReusedFrom,
)
from flowmaestro.events.references import Scope, StoredOutput, resolve
from flowmaestro.events.retry import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT_SECONDS,
    RetryPolicy,
    backoff_seconds,
)
from flowmaestro.events.state import ExecutionState, ExecutionStatus, NodeState, NodeStatus

__all__ = [
    "Append",
    "Decision",
    "Dispatch",
    "ReportChild",
    "StartTimer",
    "StopExecution",
    "decide",
    "input_hash",
    "memo_key",
    "node_retry_policy",
    "readiness",
]


_DONE = (NodeStatus.COMPLETED, NodeStatus.SKIPPED)
_hash_encoder = msgspec.json.Encoder(order="sorted")


def node_retry_policy(state: ExecutionState, node_id: str) -> RetryPolicy:
    """The node's retry policy, or the default."""
    raw = state.definition.nodes[node_id].data.get("retry")
    if raw is None:
        return DEFAULT_RETRY
    try:
        return msgspec.convert(raw, RetryPolicy)
    except msgspec.ValidationError:
        return DEFAULT_RETRY


def _will_retry(state: ExecutionState, node_id: str, node: NodeState) -> bool:
    error = node.error
    if error is None or error.terminal:
        return False
    policy = node_retry_policy(state, node_id)
    return error.kind not in policy.non_retryable and node.attempt < policy.max_attempts


def _joins_any(state: ExecutionState, node_id: str) -> bool:
    node = state.definition.nodes[node_id]
    spec = node_spec(node.type)
    return spec is not None and spec.join_mode(node.data) == "any"


def readiness(state: ExecutionState, node_id: str) -> str:
    """`run`, `skip` or `wait` for a pending node, by dead-path elimination.

    A node whose spec joins `any` runs as soon as one incoming edge is taken.
    """
    incoming = state.graph.incoming[node_id]
    if not incoming:
        return "run"
    taken = False
    waiting = False
    for edge in incoming:
        source = state.nodes[edge.source]
        if source.status is NodeStatus.COMPLETED:
            if edge.source not in state.graph.branching or edge.source_handle in (
                source.handles or ()
            ):
                taken = True
        elif source.status is not NodeStatus.SKIPPED:
            waiting = True
    if waiting:
        return "run" if taken and _joins_any(state, node_id) else "wait"
    return "run" if taken else "skip"


def _output(node: NodeState) -> Any:
    """A node's output as references see it: inline, or the stored object it names."""
    return StoredOutput(node.output_ref) if node.output_ref is not None else node.output


def _output_value(node: NodeState) -> Any:
    """A node's output as commands and events carry it: inline, or a stored-output marker."""
    return node.output if node.output_ref is None else StoredOutput(node.output_ref).marker()


def _scope(state: ExecutionState) -> Scope:
    outputs = {n: _output(s) for n, s in state.nodes.items() if s.status is NodeStatus.COMPLETED}
    skipped = frozenset(n for n, s in state.nodes.items() if s.status is NodeStatus.SKIPPED)
    return Scope(inputs=state.inputs, vars=state.vars, outputs=outputs, skipped=skipped)


def _command(
    state: ExecutionState, node_id: str, attempt: int, now: datetime, scope: Scope
) -> ExecuteNode:
    node = state.definition.nodes[node_id]
    spec = node_spec(node.type)
    assert spec is not None, "validated definitions only hold catalogued types"
    config = resolve(node.data, scope)
    upstream = {
        u: _output_value(state.nodes[u])
        for u in state.graph.upstream(node_id)
        if state.nodes[u].status is NodeStatus.COMPLETED
    }
    timeout = config.get("timeout_seconds")
    return ExecuteNode(
        execution_id=state.execution_id,
        node_id=node_id,
        node_type=node.type,
        attempt=attempt,
        config=config,
        upstream=upstream,
        inputs=state.inputs if "inputs" in spec.receives else None,
        vars=state.vars if "vars" in spec.receives else None,
        timeout_seconds=float(timeout)
        if isinstance(timeout, int | float) and timeout > 0
        else DEFAULT_TIMEOUT_SECONDS,
        scheduled_at=now,
        idempotency_key=names.command_key(state.execution_id, node_id, attempt),
        owner_id=state.owner_id,
        workflows=state.workflows if "workflows" in spec.receives else None,
        reads=_reads(state),
    )


def _reads(state: ExecutionState) -> list[str] | None:
    """The earlier executions whose stored outputs the run's reused results name."""
    if state.origin is None:
        return None
    named = {
        names.execution_of_output(r.output_ref)
        for r in state.origin.reuse.values()
        if r.output_ref is not None
    }
    named.discard("")
    return sorted(named) or None


def input_hash(command: ExecuteNode) -> str:
    """Hash of what feeds a node attempt: type, resolved config, upstream, inputs, vars."""
    material = [command.node_type, command.config, command.upstream, command.inputs, command.vars]
    return hashlib.sha256(_hash_encoder.encode(material)).hexdigest()


def memo_key(command: ExecuteNode) -> str:
    """The cache key of a node attempt: what it computes from, not how it is run."""
    config = {k: v for k, v in command.config.items() if k not in SETTING_FIELDS}
    material = [command.node_type, config, command.upstream, command.inputs, command.vars]
    return hashlib.sha256(_hash_encoder.encode(material)).hexdigest()


def _reusable(state: ExecutionState, node_id: str, attempt: int) -> Reusable | None:
    """The earlier execution's result this node's first attempt may complete with."""
    if attempt != 1 or state.origin is None:
        return None
    return state.origin.reuse.get(node_id)


def _held_back(state: ExecutionState, node_id: str) -> bool:
    """A node test runs one node: every other node completes from its record or is skipped."""
    origin = state.origin
    return (
        origin is not None
        and origin.kind == "test"
        and node_id != origin.node_id
        and node_id not in origin.reuse
    )


def _from_record(
    state: ExecutionState, node_id: str, now: datetime, digest: str, entry: Reusable
) -> list[Decision]:
    """Complete a node's first attempt with an earlier execution's result: nothing is
    dispatched; the `node.completed` names where the result comes from."""
    assert state.origin is not None
    eid = state.execution_id
    scheduled = NodeScheduled(node_id=node_id, attempt=1, scheduled_at=now, input_hash=digest)
    completed = NodeCompleted(
        node_id=node_id,
        attempt=1,
        completed_at=now,
        output=entry.output,
        output_ref=entry.output_ref,
        handles=entry.handles,
        vars=entry.vars,
        duration_ms=0.0,
        reused=ReusedFrom(execution_id=state.origin.execution_id, attempt=entry.attempt),
    )
    return [
        Append(names.scheduled_key(eid, node_id, 1), scheduled, record=True),
        Append(names.result_key(eid, node_id, 1), completed),
    ]


def _schedule(
    state: ExecutionState,
    node_id: str,
    attempt: int,
    now: datetime,
    issued: Container[str],
    scope: Callable[[], Scope],
) -> list[Decision]:
    eid = state.execution_id
    scheduled_key = names.scheduled_key(eid, node_id, attempt)
    execute_key = names.execute_key(eid, node_id, attempt)
    if scheduled_key in issued and execute_key in issued:
        return []
    entry = _reusable(state, node_id, attempt)
    if entry is not None and entry.input_hash is None:
        # set by hand: used whatever feeds the node, whose config need not even resolve
        digest = hashlib.sha256(_hash_encoder.encode(entry)).hexdigest()
        return _from_record(state, node_id, now, digest, entry)
    spec = node_spec(state.definition.nodes[node_id].type)
    if spec is not None and spec.composite:
        # the same children on the same items (and the run keeps its original's called
        # workflows): the recorded result stands, no child runs
        if entry is not None and composite.digest(state, node_id, scope()) == entry.input_hash:
            assert entry.input_hash is not None
            return _from_record(state, node_id, now, entry.input_hash, entry)
        if scheduled_key in issued:
            return []
        return composite.start(state, node_id, attempt, now, scope())
    try:
        command = _command(state, node_id, attempt, now, scope())
    except ReferenceResolutionError as exc:
        return [unresolvable(eid, node_id, attempt, now, exc)]
    digest = input_hash(command)
    if entry is not None and entry.input_hash == digest:
        return _from_record(state, node_id, now, digest, entry)
    scheduled = NodeScheduled(node_id=node_id, attempt=attempt, scheduled_at=now, input_hash=digest)
    return [Append(scheduled_key, scheduled, record=True), Dispatch(execute_key, command)]


def _redispatch(
    state: ExecutionState,
    node_id: str,
    node: NodeState,
    now: datetime,
    issued: Container[str],
    scope: Callable[[], Scope],
) -> list[Decision]:
    key = names.execute_key(state.execution_id, node_id, node.attempt)
    if key in issued:
        return []
    try:
        command = _command(state, node_id, node.attempt, node.scheduled_at or now, scope())
    except ReferenceResolutionError:
        return []
    return [Dispatch(key, command)]


def _stop(state: ExecutionState, event: Event, now: datetime) -> list[Decision]:
    eid = state.execution_id
    children = [
        d
        for node_id, node in composite.running_composites(state)
        for d in composite.cancel_children(state, node_id, node, now)
    ]
    return [Append(names.end_key(eid), event), StopExecution(names.stop_key(eid)), *children]


def decide(
    state: ExecutionState, now: datetime, issued: Container[str] = frozenset()
) -> list[Decision]:
    """The decisions that move `state` forward; empty when there is nothing to do now."""
    if state.status.terminal:
        return [d for d in composite.report_to_parent(state) if d.key not in issued]
    eid = state.execution_id
    if state.cancel_requested:
        return _stop(state, ExecutionCancelled(cancelled_at=now, reason=state.cancel_reason), now)
    if state.status is ExecutionStatus.PAUSED:
        return _held(state, now, issued)

    decisions: list[Decision] = []
    scopes: list[Scope] = []

    def scope() -> Scope:
        """The references' scope, built once per decide and only when needed."""
        if not scopes:
            scopes.append(_scope(state))
        return scopes[0]

    all_done = True
    for node_id in state.graph.order:
        node = state.nodes[node_id]
        status = node.status
        if status not in _DONE:
            all_done = False
        if status is NodeStatus.PENDING:
            verdict = "skip" if _held_back(state, node_id) else readiness(state, node_id)
            if verdict == "run":
                decisions.extend(_schedule(state, node_id, 1, now, issued, scope))
            elif verdict == "skip":
                decisions.append(
                    Append(names.skipped_key(eid, node_id), NodeSkipped(node_id=node_id))
                )
        elif status is NodeStatus.SCHEDULED:
            if node.children_total is not None:
                decisions.extend(composite.advance(state, node_id, node, now, scope(), issued))
            else:
                decisions.extend(_redispatch(state, node_id, node, now, issued, scope))
        elif status is NodeStatus.FAILED:
            if not _will_retry(state, node_id, node):
                error = node.error or ErrorInfo(message="failed")
                return _stop(
                    state, ExecutionFailed(failed_at=now, node_id=node_id, error=error), now
                )
            policy = node_retry_policy(state, node_id)
            delay = backoff_seconds(policy, node.attempt, f"{eid}:{node_id}")
            if node.error is not None and node.error.retry_after_seconds:
                delay = max(delay, node.error.retry_after_seconds)
            base = node.ended_at or now
            decisions.append(
                Append(
                    names.retrying_key(eid, node_id, node.attempt + 1),
                    NodeRetrying(
                        node_id=node_id,
                        attempt=node.attempt + 1,
                        retry_at=base + timedelta(seconds=delay),
                    ),
                )
            )
        elif status is NodeStatus.RETRYING:
            assert node.retry_at is not None
            decisions.append(
                StartTimer(
                    names.retry_timer_key(eid, node_id, node.attempt),
                    names.retry_timer_id(node_id, node.attempt),
                    node.retry_at,
                    NodeRetryDue(node_id=node_id, attempt=node.attempt),
                )
            )
        elif status is NodeStatus.RETRY_DUE:
            decisions.extend(_schedule(state, node_id, node.attempt, now, issued, scope))
    if all_done:
        outputs = _outputs(state)
        return [Append(names.end_key(eid), ExecutionCompleted(completed_at=now, outputs=outputs))]
    return [d for d in decisions if d.key not in issued]


def _held(state: ExecutionState, now: datetime, issued: Container[str]) -> list[Decision]:
    """What a paused execution still does: re-send the commands of nodes already running
    (after a scheduler restart), so they finish. Nothing new starts; results, failures and
    timers that land meanwhile are folded and acted on after the resume."""
    scopes: list[Scope] = []

    def scope() -> Scope:
        if not scopes:
            scopes.append(_scope(state))
        return scopes[0]

    return [
        decision
        for node_id, node in state.nodes.items()
        if node.status is NodeStatus.SCHEDULED and node.children_total is None
        for decision in _redispatch(state, node_id, node, now, issued, scope)
    ]


def _outputs(state: ExecutionState) -> dict[str, Any]:
    return {
        node_id: _output_value(state.nodes[node_id])
        for node_id, node in state.definition.nodes.items()
        if node.type == "output" and state.nodes[node_id].status is NodeStatus.COMPLETED
    }
