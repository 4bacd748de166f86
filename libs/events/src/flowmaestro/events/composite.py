"""Decisions for composite nodes (`loop`, `subworkflow`): child executions with their own
logs, started and reported through the parent's log."""

from __future__ import annotations

import hashlib
from collections.abc import Container
from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events import names
from flowmaestro.events.catalogue import LoopConfig, SubworkflowConfig, node_spec, workflow_key
from flowmaestro.events.decisions import Append, Decision, ReportChild, unresolvable
from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.events import (
    ChildFinished,
    ChildStarted,
    ErrorInfo,
    ExecutionCancelRequested,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeScheduled,
    ParentRef,
)
from flowmaestro.events.references import Scope, resolve
from flowmaestro.events.state import ExecutionState, NodeState, NodeStatus

__all__ = [
    "advance",
    "called_workflows",
    "cancel_children",
    "digest",
    "report_to_parent",
    "running_composites",
    "start",
]

_hash_encoder = msgspec.json.Encoder(order="sorted")


class _Plan(msgspec.Struct, frozen=True, kw_only=True):
    body: WorkflowDefinition
    inputs: list[dict[str, Any]]
    concurrency: int
    stop_on_error: bool
    loop: bool
    config: dict[str, Any]


def _plan(state: ExecutionState, node_id: str, scope: Scope) -> _Plan:
    node = state.definition.nodes[node_id]
    spec = node_spec(node.type)
    nested = spec.nested if spec else ()
    # A nested workflow's references belong to the child's scope: leave them unresolved.
    config = {k: v if k in nested else resolve(v, scope) for k, v in node.data.items()}
    loop: LoopConfig | None = None
    try:
        if node.type == "loop":
            loop = msgspec.convert(config, LoopConfig)
            body, workflow_id, version = loop.body, loop.workflow_id, loop.version
            inputs = [{"item": item, "index": i} for i, item in enumerate(loop.items)]
        else:
            sub = msgspec.convert(config, SubworkflowConfig)
            body, workflow_id, version = sub.definition, sub.workflow_id, sub.version
            inputs = [dict(sub.inputs)]
    except msgspec.ValidationError as exc:
        raise ReferenceResolutionError(f"invalid config: {exc}") from exc
    if body is None:
        assert workflow_id is not None
        body = state.workflows.get(workflow_key(workflow_id, version)) or (
            state.workflows.get(workflow_id) if version is None else None
        )
        if body is None:
            raise ReferenceResolutionError(
                f"workflow {workflow_key(workflow_id, version)!r} was not provided to this "
                "execution (start it through the API, which attaches the workflows it calls)"
            )
    return _Plan(
        body=body,
        inputs=inputs,
        concurrency=max(1, loop.concurrency) if loop else 1,
        stop_on_error=loop is None or loop.on_error == "stop",
        loop=loop is not None,
        config=config,
    )


def _digest(state: ExecutionState, node_id: str, plan: _Plan) -> str:
    return hashlib.sha256(
        _hash_encoder.encode([state.definition.nodes[node_id].type, plan.config])
    ).hexdigest()


def digest(state: ExecutionState, node_id: str, scope: Scope) -> str | None:
    """The hash `start` records for the node (its type and resolved config, the body
    included), or None when its config does not resolve."""
    try:
        return _digest(state, node_id, _plan(state, node_id, scope))
    except ReferenceResolutionError:
        return None


def start(
    state: ExecutionState, node_id: str, attempt: int, now: datetime, scope: Scope
) -> list[Decision]:
    """Schedule a composite node attempt: record how many children it will run."""
    eid = state.execution_id
    try:
        plan = _plan(state, node_id, scope)
    except ReferenceResolutionError as exc:
        return [unresolvable(eid, node_id, attempt, now, exc)]
    digest = _digest(state, node_id, plan)
    return [
        Append(
            names.scheduled_key(eid, node_id, attempt),
            NodeScheduled(
                node_id=node_id,
                attempt=attempt,
                scheduled_at=now,
                input_hash=digest,
                children=len(plan.inputs),
            ),
        )
    ]


def _single_output(outputs: dict[str, Any]) -> Any:
    return next(iter(outputs.values())) if len(outputs) == 1 else outputs


def advance(
    state: ExecutionState,
    node_id: str,
    node: NodeState,
    now: datetime,
    scope: Scope,
    issued: Container[str],
) -> list[Decision]:
    """Start children up to the cap, and finish the node once they are done."""
    eid, attempt = state.execution_id, node.attempt
    result_key = names.result_key(eid, node_id, attempt)
    if result_key in issued:
        return []
    try:
        plan = _plan(state, node_id, scope)
    except ReferenceResolutionError:
        return []
    results = node.child_results
    failures = sorted(
        (r for r in results.values() if r.status != "completed"), key=lambda r: r.index
    )
    if failures and plan.stop_on_error:
        first = failures[0]
        message = first.error.message if first.error else first.status
        error = ErrorInfo(
            message=f"item {first.index} ({first.execution_id}) {first.status}: {message}",
            kind="child_failed",
            terminal=True,
        )
        return [
            Append(
                result_key, NodeFailed(node_id=node_id, attempt=attempt, failed_at=now, error=error)
            ),
            *cancel_children(state, node_id, node, now),
        ]
    total = len(plan.inputs)
    if len(results) >= total:
        if plan.loop:
            output: Any = {
                "results": [
                    results[i].output if results[i].status == "completed" else None
                    for i in range(total)
                ],
                "errors": [
                    {
                        "index": r.index,
                        "execution_id": r.execution_id,
                        "message": r.error.message if r.error else r.status,
                    }
                    for r in failures
                ],
            }
        else:
            output = results[0].output
        return [
            Append(
                result_key,
                NodeCompleted(node_id=node_id, attempt=attempt, completed_at=now, output=output),
            )
        ]
    decisions: list[Decision] = []
    running = len(set(node.children) - set(results))
    for index in range(total):
        if running >= plan.concurrency:
            break
        if index in node.children:
            continue
        child = names.child_execution_id(eid, node_id, attempt, index)
        decisions.append(
            Append(
                names.started_key(child),
                ExecutionStarted(
                    execution_id=child,
                    definition=plan.body,
                    inputs=plan.inputs[index],
                    started_at=now,
                    test=state.test,
                    owner_id=state.owner_id,
                    workflow_id=state.workflow_id,
                    workflows=state.workflows,
                    parent=ParentRef(
                        execution_id=eid, node_id=node_id, attempt=attempt, index=index
                    ),
                    traceparent=state.traceparent,
                ),
                execution_id=child,
            )
        )
        decisions.append(
            Append(
                names.linked_key(child),
                ChildStarted(node_id=node_id, attempt=attempt, index=index, execution_id=child),
            )
        )
        running += 1
    return decisions


def cancel_children(
    state: ExecutionState, node_id: str, node: NodeState, now: datetime
) -> list[Decision]:
    """Ask every running child of the node to stop."""
    return [
        Append(
            names.control_key(child, "cancel"),
            ExecutionCancelRequested(
                requested_at=now, reason=f"parent {state.execution_id} stopped"
            ),
            execution_id=child,
        )
        for index, child in node.children.items()
        if index not in node.child_results
    ]


def running_composites(state: ExecutionState) -> list[tuple[str, NodeState]]:
    """Composite nodes whose children may still run."""
    return [
        (n, s) for n, s in state.nodes.items() if s.status is NodeStatus.SCHEDULED and s.children
    ]


def report_to_parent(state: ExecutionState) -> list[Decision]:
    """A finished child tells its parent, in the parent's log."""
    parent = state.parent
    if parent is None or not state.status.terminal:
        return []
    finished = ChildFinished(
        node_id=parent.node_id,
        attempt=parent.attempt,
        index=parent.index,
        execution_id=state.execution_id,
        status=state.status.value,
        output=_single_output(state.outputs),
        error=state.error,
    )
    report: list[Decision] = [
        Append(names.finished_key(state.execution_id), finished, execution_id=parent.execution_id)
    ]
    if parent.tool:  # the agent awaiting it wants every output, by output node
        whole = msgspec.structs.replace(finished, output=dict(state.outputs))
        report.append(ReportChild(names.reported_key(state.execution_id), whole))
    return report


def called_workflows(definition: WorkflowDefinition) -> list[tuple[str, str, int | None]]:
    """Every `(node_id, workflow_id, version)` a definition (or a body in it) calls by id."""
    calls: list[tuple[str, str, int | None]] = []
    for node_id, node in definition.nodes.items():
        tools = node.data.get("tools") if node.type == "agent" else None
        for tool in tools if isinstance(tools, list) else ():
            if isinstance(tool, dict) and isinstance(tool.get("workflow_id"), str):
                version = tool.get("version")
                calls.append(
                    (node_id, tool["workflow_id"], version if isinstance(version, int) else None)
                )
        if node.type not in ("loop", "subworkflow"):
            continue
        workflow_id, version = node.data.get("workflow_id"), node.data.get("version")
        if isinstance(workflow_id, str):
            calls.append((node_id, workflow_id, version if isinstance(version, int) else None))
        for field in ("body", "definition"):
            raw = node.data.get(field)
            if isinstance(raw, dict):
                try:
                    calls.extend(called_workflows(msgspec.convert(raw, WorkflowDefinition)))
                except msgspec.ValidationError:
                    continue
    return calls
