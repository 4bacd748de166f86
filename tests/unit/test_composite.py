# pyright: reportAttributeAccessIssue=false, reportOptionalMemberAccess=false, reportOptionalSubscript=false
"""Loop and sub-workflow nodes: child executions started and reported through the log."""

from __future__ import annotations

from typing import Any

from flowmaestro.events import (
    Append,
    ChildFinished,
    ChildStarted,
    ErrorInfo,
    ExecutionCancelRequested,
    ExecutionStarted,
    ExecutionState,
    NodeCompleted,
    NodeFailed,
    NodeScheduled,
    ParentRef,
    decide,
    evolve,
    fold,
)
from flowmaestro.events.names import child_execution_id as child_id
from tests.unit.sim import T0, definition, started

BODY = {
    "nodes": {"double": {"id": "double", "type": "transform", "data": {"expression": "item * 2"}}},
    "edges": [],
}


def loop_state(on_error: str = "stop", items: Any = (1, 2, 3)) -> ExecutionState:
    defn = definition(
        {
            "l": (
                "loop",
                {"items": list(items), "body": BODY, "concurrency": 2, "on_error": on_error},
            )
        },
        [],
    )
    return evolve(None, started(defn), 1)


def appended(decisions: list[Any]) -> list[Any]:
    return [d for d in decisions if isinstance(d, Append)]


def step(state: ExecutionState) -> tuple[ExecutionState, list[Append]]:
    """Decide once and fold what is appended to this execution's own log."""
    decisions = appended(decide(state, T0))
    for d in decisions:
        if d.execution_id is None:
            state = evolve(state, d.event)
    return state, decisions


def finish(
    state: ExecutionState, index: int, status: str = "completed", output: Any = None
) -> ExecutionState:
    child = state.nodes["l"].children[index]
    error = None if status == "completed" else ErrorInfo(message="bad item")
    return evolve(
        state,
        ChildFinished(
            node_id="l",
            attempt=1,
            index=index,
            execution_id=child,
            status=status,
            output=output,
            error=error,
        ),
    )


def test_loop_records_its_item_count_then_starts_children_up_to_the_cap() -> None:
    state, decisions = step(loop_state())
    (scheduled,) = [d.event for d in decisions]
    assert isinstance(scheduled, NodeScheduled) and scheduled.children == 3
    state, decisions = step(state)
    starts = [d for d in decisions if isinstance(d.event, ExecutionStarted)]
    assert [d.execution_id for d in starts] == [child_id("ex1", "l", 1, i) for i in (0, 1)]
    first = starts[0].event
    assert first.inputs == {"item": 1, "index": 0}
    assert first.parent == ParentRef(execution_id="ex1", node_id="l", attempt=1, index=0)
    assert [d.event.index for d in decisions if isinstance(d.event, ChildStarted)] == [0, 1]
    assert step(state)[1] == [], "nothing more starts while two children run"
    state, decisions = step(finish(state, 1, output=4))
    assert [d.execution_id for d in decisions if isinstance(d.event, ExecutionStarted)] == [
        child_id("ex1", "l", 1, 2)
    ]


def test_loop_collects_results_in_input_order() -> None:
    state, _ = step(step(loop_state())[0])
    state = finish(finish(state, 1, output=4), 0, output=2)
    state, _ = step(state)
    state, decisions = step(finish(state, 2, output=6))
    (done,) = [d.event for d in decisions]
    assert isinstance(done, NodeCompleted)
    assert done.output == {"results": [2, 4, 6], "errors": []}


def test_loop_stop_on_error_fails_and_cancels_running_children() -> None:
    state, _ = step(step(loop_state())[0])
    state, decisions = step(finish(state, 0, status="failed"))
    failed = next(d.event for d in decisions if isinstance(d.event, NodeFailed))
    assert failed.error.kind == "child_failed" and "item 0" in failed.error.message
    cancels = [d for d in decisions if isinstance(d.event, ExecutionCancelRequested)]
    assert [d.execution_id for d in cancels] == [child_id("ex1", "l", 1, 1)]


def test_loop_continue_collects_errors() -> None:
    state, _ = step(step(loop_state("continue", items=(1, 2)))[0])
    state = finish(finish(state, 0, status="failed"), 1, output=4)
    (done,) = [d.event for d in step(state)[1]]
    assert isinstance(done, NodeCompleted)
    assert done.output["results"] == [None, 4]
    assert [e["index"] for e in done.output["errors"]] == [0]


def test_empty_loop_completes_at_once() -> None:
    state, _ = step(loop_state(items=()))
    (done,) = [d.event for d in step(state)[1]]
    assert isinstance(done, NodeCompleted) and done.output == {"results": [], "errors": []}


def test_a_finished_child_reports_to_its_parent() -> None:
    child = ExecutionStarted(
        execution_id="c1",
        definition=definition({"o": ("output", {"output": 1})}, []),
        started_at=T0,
        parent=ParentRef(execution_id="p", node_id="l", attempt=2, index=5),
    )
    state = fold(
        [
            child,
            NodeScheduled(node_id="o", attempt=1, scheduled_at=T0, input_hash=""),
            NodeCompleted(node_id="o", attempt=1, completed_at=T0, output=7),
        ]
    )
    end = decide(state, T0)[0]
    assert isinstance(end, Append)
    state = evolve(state, end.event)
    (report,) = decide(state, T0)
    assert isinstance(report, Append) and report.execution_id == "p"
    assert report.event == ChildFinished(
        node_id="l", attempt=2, index=5, execution_id="c1", status="completed", output=7
    )


def test_subworkflow_by_id_needs_the_definition_attached_to_the_execution() -> None:
    defn = definition({"s": ("subworkflow", {"workflow_id": "wf-1", "inputs": {"a": 1}})}, [])
    state, decisions = step(evolve(None, started(defn), 1))
    assert isinstance(decisions[0].event, NodeFailed)
    assert "wf-1" in decisions[0].event.error.message
    body = definition({"o": ("output", {"output": "${inputs.a}"})}, [])
    first = started(defn)
    first = ExecutionStarted(
        **{**{f: getattr(first, f) for f in first.__struct_fields__}, "workflows": {"wf-1": body}}
    )
    state, _ = step(evolve(None, first, 1))
    (start, link) = step(state)[1]
    assert start.event.definition == body and start.event.inputs == {"a": 1}
    assert isinstance(link.event, ChildStarted)


def test_called_workflows_include_nested_bodies_and_agent_tools() -> None:
    from flowmaestro.events.composite import called_workflows

    inner = {
        "nodes": {"s": {"id": "s", "type": "subworkflow", "data": {"workflow_id": "deep"}}},
        "edges": [],
    }
    defn = definition(
        {
            "l": ("loop", {"items": [1], "body": inner}),
            "a": (
                "agent",
                {
                    "provider": "openai",
                    "prompt": "p",
                    "tools": [{"name": "t", "workflow_id": "tool-wf", "version": 2}],
                },
            ),
            "s": ("subworkflow", {"workflow_id": "top"}),
        },
        [],
    )
    assert sorted(called_workflows(defn)) == [
        ("a", "tool-wf", 2),
        ("s", "deep", None),
        ("s", "top", None),
    ]
