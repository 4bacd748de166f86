"""The executor runtime's runner on its own: a real node cache, no command loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, ExecuteNode, Limits, NodeCompleted, NodeFailed
from flowmaestro.executors import NodeContext, NodeResult, RetryableNodeError
from flowmaestro.executors.runner import Runner
from flowmaestro.runtime import new_execution_id
from flowmaestro.runtime.cache import NodeCache


async def _nothing(*_args: Any) -> Any:
    return None


def command(owner: str | None = "alice", timeout: float = 5.0, **config: Any) -> ExecuteNode:
    execution_id = new_execution_id()
    return ExecuteNode(
        execution_id=execution_id,
        node_id="n",
        node_type="echo",
        attempt=1,
        config=config,
        timeout_seconds=timeout,
        scheduled_at=datetime.now(UTC),
        idempotency_key=f"{execution_id}:n:1",
        owner_id=owner,
    )


def context(cmd: ExecuteNode) -> NodeContext:
    return NodeContext(cmd, CATALOGUE["echo"], _nothing, _nothing, _nothing, _nothing)


async def test_the_runner_turns_every_outcome_into_the_attempts_event(nc: Client) -> None:
    runner = Runner(NodeCache(nc.jetstream()), 1.0, Limits(timeout_seconds=60))

    async def slow(_ctx: NodeContext, _config: Any) -> NodeResult:
        await asyncio.sleep(10)
        return NodeResult()

    async def busy(_ctx: NodeContext, _config: Any) -> NodeResult:
        raise RetryableNodeError("busy", kind="rate_limited", retry_after=7)

    async def fine(_ctx: NodeContext, config: Any) -> NodeResult:
        return NodeResult(output=config.value)

    spec = CATALOGUE["echo"]
    cmd = command(timeout=0.05)
    timed_out = await runner.run(slow, spec, cmd, context(cmd))
    assert isinstance(timed_out, NodeFailed) and timed_out.error.kind == "timeout"
    cmd = command()
    limited = await runner.run(busy, spec, cmd, context(cmd))
    assert isinstance(limited, NodeFailed) and limited.error.retry_after_seconds == 7
    cmd = command(timeout_seconds=600)  # resolved from a reference: over the maximum
    bounded = await runner.run(fine, spec, cmd, context(cmd))
    assert isinstance(bounded, NodeFailed) and bounded.error.kind == "invalid_config"
    assert "data.timeout_seconds" in bounded.error.message
    cmd = command(value=3)
    done = await runner.run(fine, spec, cmd, context(cmd))
    assert isinstance(done, NodeCompleted) and done.output == 3


async def test_a_cancelled_execution_stops_its_running_attempt(nc: Client) -> None:
    runner = Runner(NodeCache(nc.jetstream()), 1.0)
    started = asyncio.Event()

    async def forever(_ctx: NodeContext, _config: Any) -> NodeResult:
        started.set()
        await asyncio.sleep(60)
        return NodeResult()

    cmd = command()
    task = asyncio.ensure_future(runner.run(forever, CATALOGUE["echo"], cmd, context(cmd)))
    await started.wait()
    assert runner.running(cmd.execution_id) == 1
    runner.cancel(cmd.execution_id)
    assert await asyncio.wait_for(task, 2) is None
    assert runner.running(cmd.execution_id) == 0 and runner.is_cancelled(cmd.execution_id)


async def test_cached_results_are_kept_per_owner(nc: Client) -> None:
    runner = Runner(NodeCache(nc.jetstream()), 1.0)
    calls: list[str | None] = []

    async def counted(ctx: NodeContext, _config: Any) -> NodeResult:
        calls.append(ctx.command.owner_id)
        return NodeResult(output=f"secret of {ctx.command.owner_id}")

    value = new_execution_id()  # the same node, config and inputs every time
    outputs = []
    for owner in ("alice", "mallory", "alice"):
        cmd = command(owner, value=value, cache={"ttl_seconds": 60})
        event = await runner.run(counted, CATALOGUE["echo"], cmd, context(cmd))
        assert isinstance(event, NodeCompleted)
        outputs.append((event.output, event.cached))
    assert calls == ["alice", "mallory"]
    assert outputs == [
        ("secret of alice", False),
        ("secret of mallory", False),
        ("secret of alice", True),
    ]
