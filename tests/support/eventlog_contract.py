"""One suite for every `EventLog`: a backend's test class inherits `EventLogContract` and
provides the `log` fixture (in memory in tests/unit, JetStream in tests/integration)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from flowmaestro.events import (
    Event,
    ExecuteNode,
    ExecutionStarted,
    NodeCompleted,
    NodeScheduled,
    parse_definition,
)
from flowmaestro.events.names import execution_of, is_outcome_subject
from flowmaestro.runtime.errors import AppendConflictError, PayloadTooLargeError
from flowmaestro.runtime.eventlog import Delivery, EventLog, LogConsumer, SchedulerLog
from flowmaestro.runtime.ids import new_execution_id
from tests.support.gateway import eventually

DEFINITION = parse_definition(
    {"nodes": {"a": {"id": "a", "type": "echo", "data": {"value": 1}}}, "edges": []}
)


def started(execution_id: str) -> ExecutionStarted:
    return ExecutionStarted(
        execution_id=execution_id, definition=DEFINITION, started_at=datetime.now(UTC)
    )


def completed(node_id: str, output: object = None) -> NodeCompleted:
    return NodeCompleted(node_id=node_id, attempt=1, completed_at=datetime.now(UTC), output=output)


async def next_of(deliveries: AsyncIterator[Delivery], wanted: set[str]) -> Delivery:
    """The next delivery of one of the `wanted` executions (others are acknowledged: a
    shared log holds other tests' executions too)."""
    async with asyncio.timeout(10):
        async for delivery in deliveries:
            if delivery.execution_id in wanted:
                return delivery
            await delivery.ack()
    raise AssertionError("the consumer ended")


async def batch_of(consumer: LogConsumer, wanted: str, count: int) -> list:
    """The next `count` messages of execution `wanted` (others acknowledged in passing)."""
    got: list = []
    async with asyncio.timeout(10):
        while len(got) < count:
            for msg in await consumer.next_batch():
                if execution_of(msg.subject) == wanted:
                    got.append(msg)
                else:
                    msg.ack_now()
    return got


class EventLogContract:
    """What every execution log guarantees."""

    async def test_a_start_is_read_back_and_cannot_be_made_twice(self, log: EventLog) -> None:
        execution_id = new_execution_id()
        first = started(execution_id)
        seq = await log.start(first)
        assert await log.read(execution_id) == [(seq, first)]
        assert await log.start(first) == seq, "a retried start is recognised"
        with pytest.raises(AppendConflictError):
            await log.start(started(execution_id))  # another start of the same id

    async def test_appends_keep_order_and_a_repeated_key_appends_nothing(
        self, log: EventLog
    ) -> None:
        execution_id = new_execution_id()
        s0 = await log.start(started(execution_id))
        s1 = await log.append(execution_id, completed("a", 1), key=f"{execution_id}:a:1")
        s2 = await log.append(execution_id, completed("b", 2))
        again = await log.append(execution_id, completed("a", 99), key=f"{execution_id}:a:1")
        assert s0 < s1 < s2 and again == s1
        events = await log.read(execution_id)
        assert [seq for seq, _ in events] == [s0, s1, s2]
        assert [e.output for _, e in events[1:] if isinstance(e, NodeCompleted)] == [1, 2]
        assert [seq for seq, _ in await log.read(execution_id, after_seq=s1)] == [s2]

    async def test_an_unknown_execution_reads_empty(self, log: EventLog) -> None:
        assert await log.read(new_execution_id()) == []

    async def test_a_consumer_gets_new_events_until_acknowledged(self, log: EventLog) -> None:
        deliveries = await log.consume(f"contract-{new_execution_id().lower()}")
        a, b = new_execution_id(), new_execution_id()
        try:
            await log.start(started(a))
            await log.start(started(b))
            got = [await next_of(deliveries, {a, b}), await next_of(deliveries, {a, b})]
            assert {d.execution_id for d in got} == {a, b}
            assert all(isinstance(d.event, ExecutionStarted) for d in got)
            assert all(d.deliveries == 1 for d in got)
            await got[0].ack()
            await got[1].nak()
            again = await next_of(deliveries, {a, b})
            assert (again.execution_id, again.seq, again.deliveries) == (
                got[1].execution_id,
                got[1].seq,
                2,
            )
            await again.ack()
        finally:
            with contextlib.suppress(BaseException):
                await deliveries.aclose()  # pyright: ignore[reportAttributeAccessIssue]

    async def test_a_timer_appends_its_event_and_a_cancelled_one_does_not(
        self, log: EventLog
    ) -> None:
        execution_id = new_execution_id()
        await log.start(started(execution_id))
        at = datetime.now(UTC) + timedelta(seconds=1)
        await log.schedule(execution_id, "fires", at, completed("timer", "fired"))
        await log.schedule(execution_id, "cancelled", at, completed("timer", "cancelled"))
        await log.cancel_timer(execution_id, "cancelled")

        async def outputs() -> list[object]:
            events: list[tuple[int, Event]] = await log.read(execution_id)
            return [e.output for _, e in events if isinstance(e, NodeCompleted)]

        assert await outputs() == [], "not before its time"

        async def fired() -> bool:
            return bool(await outputs())

        await eventually(fired, 10)
        await asyncio.sleep(0.5)
        assert await outputs() == ["fired"]

    async def test_the_scheduler_consumer_gets_events_and_outcomes_not_records(
        self, log: SchedulerLog
    ) -> None:
        execution_id = new_execution_id()
        consumer = log.scheduler_consumer(100)
        await consumer.start()
        try:
            await log.start(started(execution_id))
            scheduled = NodeScheduled(
                node_id="a", attempt=1, scheduled_at=datetime.now(UTC), input_hash="h"
            )
            await _settle(await log.append_async(execution_id, scheduled, record=True))
            await _settle(await log.append_async(execution_id, completed("a", 1)))
            got = await batch_of(consumer, execution_id, 2)
            assert got[0].seq < got[1].seq
            assert not any(is_outcome_subject(m.subject) for m in got)
            got[-1].ack_now()  # one acknowledgement covers both
            assert [seq for seq, _ in await log.read(execution_id)] == sorted(
                [got[0].seq, got[1].seq, got[0].seq + 1]
            ), "the record is in the log, only not delivered"
        finally:
            await consumer.stop()

    async def test_a_command_too_large_for_the_log_is_refused_before_sending(
        self, log: SchedulerLog
    ) -> None:
        execution_id = new_execution_id()
        command = ExecuteNode(
            execution_id=execution_id,
            node_id="a",
            node_type="echo",
            attempt=1,
            idempotency_key=f"{execution_id}:a:1",
            timeout_seconds=10,
            scheduled_at=datetime.now(UTC),
            config={"value": "x" * (2 * 1024 * 1024)},
        )
        with pytest.raises(PayloadTooLargeError) as refused:
            await log.dispatch(command, f"{execution_id}:a:1:dispatch")
        assert refused.value.size > refused.value.limit

    async def test_a_snapshot_is_kept_per_execution_replaced_and_deleted(
        self, log: SchedulerLog
    ) -> None:
        store = log.snapshots
        a, b = new_execution_id(), new_execution_id()
        assert await store.get(a) is None
        await store.put(a, b"first")
        await store.put(b, b"other")
        large = bytes(range(256)) * 6000  # 1.5 MB: over one message's limit, so chunked
        await store.put(a, large)
        assert await store.get(a) == large, "the newer snapshot replaces the older"
        assert await store.get(b) == b"other"
        await store.delete(a)
        await store.delete(a)  # deleting what is gone is fine
        assert await store.get(a) is None
        assert await store.get(b) == b"other"


async def _settle(started: object) -> object:
    return await started if isinstance(started, asyncio.Future) else started
