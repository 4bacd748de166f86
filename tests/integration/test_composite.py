"""Loops and sub-workflows run as child executions with their own logs."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import ChildFinished, ChildStarted, ExecutionStarted, ExecutionStatus
from flowmaestro.events.names import output_object
from flowmaestro.runtime import ExecutionLog
from tests.support.engine import load_example, run, wait_for_end

pytestmark = pytest.mark.integration


async def test_loop_maps_a_body_over_items_in_order(engine: Client) -> None:
    numbers = [3, 1, 4, 1, 5, 9, 2]
    state, records = await run(engine, load_example("loop"), {"numbers": numbers})
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs == {"result": [n * n for n in numbers]}
    started = [e for _, e in records if isinstance(e, ChildStarted)]
    assert sorted(e.index for e in started) == list(range(len(numbers)))
    child_state, _ = await wait_for_end(engine, started[0].execution_id)
    assert child_state.parent is not None and child_state.parent.execution_id == state.execution_id
    assert child_state.inputs == {"item": numbers[started[0].index], "index": started[0].index}


def _loop(body_fails_on: int, on_error: str) -> dict[str, Any]:
    expression = f"item = {body_fails_on} ? $error('bad item') : item"
    check = {"expression": expression, "input": "${inputs}"}
    body = {
        "nodes": {
            "check": {"id": "check", "type": "transform", "data": check},
            "out": {"id": "out", "type": "output", "data": {"output": "${check.output}"}},
        },
        "edges": [{"id": "b", "source": "check", "target": "out"}],
    }
    loop = {"items": [1, 2, 3], "on_error": on_error, "concurrency": 3, "body": body}
    return {
        "nodes": {
            "each": {"id": "each", "type": "loop", "data": loop},
            "done": {"id": "done", "type": "output", "data": {"output": "${each.output}"}},
        },
        "edges": [{"id": "e", "source": "each", "target": "done"}],
    }


async def test_loop_continue_collects_errors(engine: Client) -> None:
    state, _ = await run(engine, _loop(2, "continue"))
    assert state.status is ExecutionStatus.COMPLETED
    output = state.outputs["done"]
    assert output["results"] == [1, None, 3]
    assert [e["index"] for e in output["errors"]] == [1]
    assert "bad item" in output["errors"][0]["message"]


async def test_loop_stop_fails_the_node(engine: Client) -> None:
    state, records = await run(engine, _loop(1, "stop"))
    assert state.status is ExecutionStatus.FAILED
    assert state.failed_node == "each"
    assert state.error is not None and "item 0" in state.error.message
    assert any(isinstance(e, ChildFinished) and e.status == "failed" for _, e in records)


async def test_subworkflow_returns_the_childs_output(engine: Client) -> None:
    child = {
        "nodes": {
            "greet": {"id": "greet", "type": "output", "data": {"output": "hello ${inputs.name}"}}
        },
        "edges": [],
    }
    parent = {
        "nodes": {
            "start": {
                "id": "start",
                "type": "input",
                "data": {"schema": {"who": {"type": "string"}}},
            },
            "call": {
                "id": "call",
                "type": "subworkflow",
                "data": {"definition": child, "inputs": {"name": "${inputs.who}"}},
            },
            "out": {"id": "out", "type": "output", "data": {"output": "${call.output}"}},
        },
        "edges": [
            {"id": "1", "source": "start", "target": "call"},
            {"id": "2", "source": "call", "target": "out"},
        ],
    }
    state, _ = await run(engine, parent, {"who": "ada"})
    assert state.outputs == {"out": "hello ada"}


async def test_cancelling_the_parent_cancels_its_children(engine: Client) -> None:
    slow_body = {
        "nodes": {"pause": {"id": "pause", "type": "wait", "data": {"seconds": 600}}},
        "edges": [],
    }
    parent = {
        "nodes": {
            "each": {"id": "each", "type": "loop", "data": {"items": [1, 2], "body": slow_body}}
        },
        "edges": [],
    }
    from tests.support.engine import start  # local: keeps the module's imports small

    execution_id = await start(engine, parent)
    log = ExecutionLog(engine)
    children: list[str] = []
    for _ in range(300):
        children = [
            e.execution_id for _, e in await log.read(execution_id) if isinstance(e, ChildStarted)
        ]
        if len(children) == 2:
            break
        import asyncio

        await asyncio.sleep(0.02)
    from datetime import UTC, datetime

    from flowmaestro.events import ExecutionCancelRequested

    await log.append(execution_id, ExecutionCancelRequested(requested_at=datetime.now(UTC)))
    state, _ = await wait_for_end(engine, execution_id)
    assert state.status is ExecutionStatus.CANCELLED
    for child in children:
        child_state, _ = await wait_for_end(engine, child)
        assert child_state.status is ExecutionStatus.CANCELLED


async def test_a_large_output_reaches_a_child_by_reference(engine: Client) -> None:
    """The child's start and its nodes' commands carry a marker; its executor reads it."""
    child = {
        "nodes": {
            "size": {
                "id": "size",
                "type": "transform",
                "data": {"expression": "$length(doc)", "input": "${inputs}"},
            },
            "out": {"id": "out", "type": "output", "data": {"output": "${size.output}"}},
        },
        "edges": [{"id": "1", "source": "size", "target": "out"}],
    }
    parent = {
        "nodes": {
            "big": {"id": "big", "type": "echo", "data": {"value": "d" * 600_000}},
            "call": {
                "id": "call",
                "type": "subworkflow",
                "data": {"definition": child, "inputs": {"doc": "${big.output}"}},
            },
            "out": {"id": "out", "type": "output", "data": {"output": "${call.output}"}},
        },
        "edges": [
            {"id": "1", "source": "big", "target": "call"},
            {"id": "2", "source": "call", "target": "out"},
        ],
    }
    state, _ = await run(engine, parent)
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs == {"out": 600_000}
    child_id = state.nodes["call"].children[0]
    started = (await ExecutionLog(engine).read(child_id))[0][1]
    assert isinstance(started, ExecutionStarted)
    assert started.inputs == {
        "doc": {"$fm.output_ref": output_object(None, state.execution_id, "big", 1)}
    }
