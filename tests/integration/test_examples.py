"""The example workflows run to their expected outputs on a real nats-server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client

from flowmaestro.events import (
    ExecutionCancelRequested,
    ExecutionStatus,
    NodeCompleted,
    NodeStatus,
)
from flowmaestro.executors import ExecutorWorker
from flowmaestro.runtime import ExecutionLog
from tests.support.engine import WORKERS, load_example, run, start, wait_for_end, wait_for_waiting

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("amount", "taken", "skipped"), [(150, "big", "small"), (20, "small", "big")]
)
async def test_branch_takes_one_side_and_joins(
    engine: Client, amount: int, taken: str, skipped: str
) -> None:
    state, _ = await run(engine, load_example("branch"), {"amount": amount})
    assert state.status is ExecutionStatus.COMPLETED
    size = "large" if taken == "big" else "small"
    assert state.outputs == {"result": f"{size} order of {amount}"}
    assert state.nodes[taken].status is NodeStatus.COMPLETED
    assert state.nodes[skipped].status is NodeStatus.SKIPPED


@pytest.mark.parametrize(
    ("tier", "output_node", "value"),
    [
        ("gold", "gold", "20% off"),
        ("silver", "silver", "10% off"),
        ("iron", "other", "no discount"),
    ],
)
async def test_switch_routes_by_value(
    engine: Client, tier: str, output_node: str, value: str
) -> None:
    state, _ = await run(engine, load_example("switch"), {"tier": tier})
    assert state.outputs == {output_node: value}
    assert sum(n.status is NodeStatus.SKIPPED for n in state.nodes.values()) == 2


async def test_transform_chain_with_variables(engine: Client) -> None:
    orders = [{"name": "a", "price": 5}, {"name": "b", "price": 20}, {"name": "c", "price": 30}]
    state, _ = await run(engine, load_example("transform-chain"), {"orders": orders})
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs == {"result": "b, c cost 55"}
    assert state.vars == {"total": 55}


async def test_wait_uses_a_durable_timer(engine: Client) -> None:
    state, records = await run(engine, load_example("wait"), {"seconds": 1})
    assert state.status is ExecutionStatus.COMPLETED
    pause = state.nodes["pause"]
    assert pause.ended_at is not None and pause.scheduled_at is not None
    waited = (pause.ended_at - pause.scheduled_at).total_seconds()
    assert 0.9 <= waited < 3
    assert "node.waiting" in [e.__struct_config__.tag for _, e in records]


async def test_retry_succeeds_on_the_third_attempt(engine: Client) -> None:
    state, records = await run(engine, load_example("retry"))
    assert state.status is ExecutionStatus.COMPLETED
    assert state.outputs == {"result": "worked on the third attempt"}
    flaky = state.nodes["flaky"]
    assert flaky.attempt == 3
    assert [a.status for a in flaky.attempts] == ["failed", "failed", "completed"]
    tags = [e.__struct_config__.tag for _, e in records]
    assert tags.count("node.retrying") == 2
    assert tags.count("node.retry_due") == 2


async def test_cancel_stops_a_waiting_execution(engine: Client) -> None:
    execution_id = await start(engine, load_example("cancel"))
    waiting = await wait_for_waiting(engine, execution_id, "pause")
    await ExecutionLog(engine).append(
        execution_id, ExecutionCancelRequested(requested_at=waiting.waiting_since, reason="test")
    )
    state, _ = await wait_for_end(engine, execution_id)
    assert state.status is ExecutionStatus.CANCELLED
    assert state.cancel_reason == "test"


async def test_heartbeats_keep_a_long_node_from_being_redelivered(engine: Client) -> None:
    """The command's ack wait is 2 s in tests; a 5 s node must still run exactly once."""
    slow = {
        "nodes": {
            "slow": {"id": "slow", "type": "echo", "data": {"value": "done", "delay_seconds": 5}}
        },
        "edges": [],
    }
    state, records = await run(engine, slow, timeout=30)
    assert state.status is ExecutionStatus.COMPLETED
    assert state.nodes["slow"].attempt == 1
    assert [e.__struct_config__.tag for _, e in records].count("node.completed") == 1


async def test_a_node_over_its_timeout_fails_and_is_retried(engine: Client) -> None:
    stuck = {
        "nodes": {
            "stuck": {
                "id": "stuck",
                "type": "echo",
                "data": {
                    "delay_seconds": 30,
                    "timeout_seconds": 0.3,
                    "retry": {"max_attempts": 2, "initial_interval_seconds": 0.1},
                },
            }
        },
        "edges": [],
    }
    state, _ = await run(engine, stuck, timeout=30)
    assert state.status is ExecutionStatus.FAILED
    attempts = state.nodes["stuck"].attempts
    assert [a.status for a in attempts] == ["failed", "failed"]
    assert all(a.error is not None and a.error.kind == "timeout" for a in attempts)
    assert state.error is not None and "timed out after 0.3s" in state.error.message


async def test_large_outputs_travel_through_the_object_store(engine: Client) -> None:
    big = "x" * 400_000
    doc = {
        "nodes": {
            "big": {"id": "big", "type": "echo", "data": {"value": big}},
            "len": {
                "id": "len",
                "type": "transform",
                "data": {"expression": "$length($)", "input": "${big.output}"},
            },
            "out": {"id": "out", "type": "output", "data": {"output": "${len.output}"}},
        },
        "edges": [
            {"id": "1", "source": "big", "target": "len"},
            {"id": "2", "source": "len", "target": "out"},
        ],
    }
    state, records = await run(engine, doc)
    assert state.outputs == {"out": 400_000}
    completed = next(e for _, e in records if isinstance(e, NodeCompleted) and e.node_id == "big")
    assert completed.output is None
    assert completed.output_ref is not None and completed.output_ref.endswith("/big/1")


async def test_a_cached_node_reuses_its_result_and_says_so(engine: Client) -> None:
    doc = {
        "nodes": {
            "slow": {
                "id": "slow",
                "type": "echo",
                "data": {
                    "value": "${inputs.q}",
                    "delay_seconds": 0.5,
                    "cache": {"ttl_seconds": 60},
                },
            }
        },
        "edges": [],
    }
    first, _ = await run(engine, doc, {"q": "same"})
    second, records = await run(engine, doc, {"q": "same"})
    other, other_records = await run(engine, doc, {"q": "different"})
    completions = [e for _, e in records if isinstance(e, NodeCompleted)]
    assert [c.cached for c in completions] == [True]
    assert completions[0].output == "same"
    assert (completions[0].duration_ms or 0) < 400
    assert not any(e.cached for _, e in other_records if isinstance(e, NodeCompleted))
    assert first.status is second.status is other.status is ExecutionStatus.COMPLETED


async def test_cancel_tells_running_nodes_to_stop(engine: Client) -> None:
    slow = {
        "nodes": {
            "slow": {"id": "slow", "type": "echo", "data": {"value": 1, "delay_seconds": 30}}
        },
        "edges": [],
    }
    execution_id = await start(engine, slow)
    busy: list[ExecutorWorker] = []
    for _ in range(250):
        busy = [w for w in WORKERS if w.running(execution_id)]
        if busy:
            break
        await asyncio.sleep(0.02)
    (worker,) = busy
    await ExecutionLog(engine).append(
        execution_id, ExecutionCancelRequested(requested_at=datetime.now(UTC))
    )
    state, _ = await wait_for_end(engine, execution_id)
    assert state.status is ExecutionStatus.CANCELLED
    for _ in range(100):
        if not worker.running(execution_id):
            break
        await asyncio.sleep(0.02)
    assert worker.running(execution_id) == 0, "the running node was not told to stop"
    await asyncio.sleep(2.5)  # past the test ack wait: the command must not come back
    assert worker.running(execution_id) == 0
    records = await ExecutionLog(engine).read(execution_id)
    assert not any(isinstance(e, NodeCompleted) for _, e in records)
