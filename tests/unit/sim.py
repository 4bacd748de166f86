"""A pure, in-memory run of `decide` → results → `evolve`, for unit tests of the fold.

`respond` plays the executors: given a command it returns the result event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flowmaestro.events import (
    Append,
    Dispatch,
    Event,
    ExecuteNode,
    ExecutionStarted,
    ExecutionState,
    NodeCompleted,
    ReportChild,
    StartTimer,
    StopExecution,
    WorkflowDefinition,
    decide,
    evolve,
    parse_definition,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def definition(
    nodes: dict[str, tuple[str, dict[str, Any]]],
    edges: list[tuple[str, str] | tuple[str, str, str]],
) -> WorkflowDefinition:
    """A validated definition from `{id: (type, data)}` and `(source, target[, handle])`."""
    doc = {
        "nodes": {n: {"id": n, "type": t, "data": d} for n, (t, d) in nodes.items()},
        "edges": [
            {
                "id": f"e{i}",
                "source": e[0],
                "target": e[1],
                **({"sourceHandle": e[2]} if len(e) == 3 else {}),
            }
            for i, e in enumerate(edges)
        ],
    }
    return parse_definition(doc)


def started(
    defn: WorkflowDefinition, inputs: dict[str, Any] | None = None, execution_id: str = "ex1"
) -> ExecutionStarted:
    """The first event of a test execution."""
    return ExecutionStarted(
        execution_id=execution_id, definition=defn, inputs=inputs or {}, started_at=T0
    )


def echo_result(command: ExecuteNode) -> Event:
    """Complete every command with its `value` (or upstream) and `true` for branches."""
    config = command.config
    output = config.get("value", config.get("output", command.upstream or None))
    handles = None
    if command.node_type == "conditional":
        handles = ["true"]
    return NodeCompleted(
        node_id=command.node_id,
        attempt=command.attempt,
        completed_at=T0,
        output=output,
        handles=handles,
    )


def simulate(
    first: ExecutionStarted,
    respond: Callable[[ExecuteNode], Event] = echo_result,
    max_steps: int = 10_000,
) -> tuple[ExecutionState, list[Event]]:
    """Run to the end; return the final state and the log it wrote."""
    log: list[Event] = [first]
    state = evolve(None, first, 1)
    now = T0
    for _ in range(max_steps):
        decisions = decide(state, now)
        if not decisions:
            break
        for decision in decisions:
            now += timedelta(milliseconds=1)
            match decision:
                case Append(event=event):
                    produced: list[Event] = [event]
                case Dispatch(command=command):
                    produced = [respond(command)]
                case StartTimer(event=event):
                    produced = [event]
                case StopExecution() | ReportChild():
                    produced = []
            for event in produced:
                log.append(event)
                state = evolve(state, event, len(log))
    return state, log
