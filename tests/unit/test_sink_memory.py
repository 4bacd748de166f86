"""The executors' result sink on the memory log: one result per attempt, acknowledged
after it is stored; what cannot be stored ends the attempt instead of looping."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from flowmaestro.events import ExecuteNode, NodeCompleted, NodeFailed
from flowmaestro.events.names import outcome_subject
from flowmaestro.executors.sink import ResultSink
from flowmaestro.runtime.eventlog import MemoryEventLog

pytestmark = pytest.mark.asyncio


class Delivered:
    """A delivered command's acknowledgement, counted."""

    def __init__(self) -> None:
        self.acks = 0

    async def ack(self) -> None:
        self.acks += 1

    async def in_progress(self) -> None:
        """Nothing to extend: the memory log takes every append at once."""


class ObjectStore:
    """Large outputs kept by name, as the object store keeps them."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, ref: str, encoded: bytes) -> str:
        self.objects[ref] = encoded
        return ref


def command(node_id: str = "a") -> ExecuteNode:
    return ExecuteNode(
        execution_id="run",
        node_id=node_id,
        node_type="echo",
        attempt=1,
        config={},
        timeout_seconds=10,
        scheduled_at=datetime.now(UTC),
        idempotency_key=f"run:{node_id}:1",
        owner_id="u1",
    )


def done(node_id: str, output: object) -> NodeCompleted:
    return NodeCompleted(node_id=node_id, attempt=1, completed_at=datetime.now(UTC), output=output)


async def test_a_result_is_appended_once_and_a_redelivery_sees_it() -> None:
    log = MemoryEventLog()
    sink = ResultSink(log.outcomes(), ObjectStore(), inline_output_limit=1000)
    first, again = Delivered(), Delivered()
    assert not await sink.already_answered(command())
    await sink.deliver(command(), done("a", 1), first, time.monotonic())
    await sink.deliver(command(), done("a", 2), again, time.monotonic())  # a redelivery
    [(seq, result)] = await log.read("run")
    assert isinstance(result, NodeCompleted) and result.output == 1
    assert result.duration_ms is not None
    assert log.record(seq)[0] == outcome_subject("run")
    assert (first.acks, again.acks) == (1, 1)
    assert await sink.already_answered(command())


async def test_a_large_output_is_stored_and_referenced() -> None:
    log, store = MemoryEventLog(), ObjectStore()
    sink = ResultSink(log.outcomes(), store, inline_output_limit=100)
    await sink.deliver(command(), done("a", "x" * 500), Delivered(), time.monotonic())
    [(_, event)] = await log.read("run")
    assert isinstance(event, NodeCompleted) and event.output is None
    assert (
        event.output_ref is not None and store.objects[event.output_ref] == b'"' + b"x" * 500 + b'"'
    )


async def test_what_cannot_be_stored_ends_the_attempt() -> None:
    log = MemoryEventLog(max_payload=2_000)
    sink = ResultSink(log.outcomes(), ObjectStore(), inline_output_limit=10_000)
    not_json, too_large = Delivered(), Delivered()
    await sink.deliver(command("a"), done("a", {1j}), not_json, time.monotonic())
    await sink.deliver(command("b"), done("b", "y" * 5_000), too_large, time.monotonic())
    failures = {e.node_id: e.error for _, e in await log.read("run") if isinstance(e, NodeFailed)}
    assert failures["a"] and failures["b"]
    assert failures["a"].kind == "output" and failures["a"].terminal
    assert failures["b"].kind == "too_large" and "2000" in failures["b"].message
    assert (not_json.acks, too_large.acks) == (1, 1)
