"""The scheduler's partitioned consumption: a replica pinned to a partition anew first
handles what the previous holder was handed and never acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowmaestro.events import CATALOGUE, ExecutionCancelRequested, ExecutionStarted
from flowmaestro.events.names import SCHEDULER_PARTITIONS
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, connect, ensure_topology
from flowmaestro.runtime.ids import new_execution_id
from flowmaestro.runtime.partitions import PartitionedConsumer
from flowmaestro.runtime.pull import ContinuousPull
from flowmaestro.runtime.topology import PARTITION_ACK_WAIT_S, PIN_TTL_S
from flowmaestro.runtime.wire import WireMsg
from tests.support.engine import load_example

pytestmark = pytest.mark.integration


async def test_the_next_holder_handles_what_a_killed_one_did_not_acknowledge(
    tmp_path: Path,
) -> None:
    server = EmbeddedNats(tmp_path / "nats").start()
    consumers: list[PartitionedConsumer] = []
    try:
        setup = await connect(server.url, name="setup")
        await ensure_topology(setup.jetstream(), CATALOGUE)
        log = ExecutionLog(setup)
        execution_id = new_execution_id()
        doomed_nc = await connect(server.url, name="doomed")
        doomed = PartitionedConsumer(doomed_nc, SCHEDULER_PARTITIONS, 100)
        consumers.append(doomed)
        await doomed.start()
        started = ExecutionStarted(
            execution_id=execution_id,
            definition=load_example("transform-chain"),
            started_at=datetime.now(UTC),
        )
        first = await log.start(started)
        handed = await asyncio.wait_for(doomed.next_batch(), 5)
        assert [m.seq for m in handed] == [first]
        assert len(doomed.held) == 1
        await doomed_nc.close()  # gone without acknowledging or unpinning

        heir_nc = await connect(server.url, name="heir")
        heir = PartitionedConsumer(heir_nc, SCHEDULER_PARTITIONS, 100)
        consumers.append(heir)
        await heir.start()
        await asyncio.sleep(PIN_TTL_S + 0.5)  # the doomed one's pin times out
        cancel = ExecutionCancelRequested(requested_at=datetime.now(UTC))
        second = (await log.append(execution_id, cancel)).seq
        handed = await asyncio.wait_for(heir.next_batch(), 5)
        assert [m.seq for m in handed] == [first, second]
        assert heir.generation == 1 and heir.held == doomed.held
        handed[-1].ack_now()
        await heir.done(len(handed))
        await heir.stop()
        await heir_nc.close()
        await setup.close()
    finally:
        for consumer in consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        server.stop()


async def test_a_redelivery_still_to_come_is_not_acknowledged_unhandled(
    tmp_path: Path,
) -> None:
    """The previous holder was handed one event, then two more a moment later, and died.
    The heir's first delivery is the first one's redelivery; a new event comes before the
    other two are due again: acknowledging it would acknowledge them unhandled, so the
    heir reads back through everything the consumer delivered."""
    server = EmbeddedNats(tmp_path / "nats").start()
    consumers: list[PartitionedConsumer] = []
    try:
        setup = await connect(server.url, name="setup")
        await ensure_topology(setup.jetstream(), CATALOGUE)
        log = ExecutionLog(setup)
        doomed_nc = await connect(server.url, name="doomed")
        doomed = PartitionedConsumer(doomed_nc, SCHEDULER_PARTITIONS, 100)
        consumers.append(doomed)
        await doomed.start()
        run = _Pinned(doomed, log, new_execution_id())
        started = ExecutionStarted(
            execution_id=run.execution_id,
            definition=load_example("transform-chain"),
            started_at=datetime.now(UTC),
        )
        await log.start(started)
        handed = await asyncio.wait_for(doomed.next_batch(), 5)
        handed[-1].ack_now()
        await doomed.done(len(handed))
        unhandled = await run.cancels(1)
        await asyncio.wait_for(doomed.next_batch(), 5)
        await asyncio.sleep(PARTITION_ACK_WAIT_S / 2)  # the next two are due again later
        unhandled += await run.cancels(2)
        got: list[Any] = []
        while len(got) < 2:
            got += await asyncio.wait_for(doomed.next_batch(), 5)
        await doomed_nc.close()  # gone with three events handed and not acknowledged

        heir_nc = await connect(server.url, name="heir")
        heir = PartitionedConsumer(heir_nc, SCHEDULER_PARTITIONS, 100)
        consumers.append(heir)
        await heir.start()
        seen: set[int] = set()

        async def handle() -> None:  # as the scheduler does: acknowledge what is handed
            batch = await heir.next_batch()
            seen.update(m.seq for m in batch)
            batch[-1].ack_now()
            await heir.done(len(batch))

        async with asyncio.timeout(PIN_TTL_S + PARTITION_ACK_WAIT_S + 5):
            while unhandled[0] not in seen:
                await handle()
        newer = await run.cancels(1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PARTITION_ACK_WAIT_S + 1):  # past their redelivery
                while True:
                    await handle()
        assert {*unhandled, *newer} <= seen, (unhandled, newer, sorted(seen))
        await heir.stop()
        await heir_nc.close()
        await setup.close()
    finally:
        for consumer in consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        server.stop()


class _Pinned:
    """A consumer pinned to the partition of one execution whose start it has handled
    and acknowledged; `cancels(n)` appends n more events to that execution."""

    def __init__(self, consumer: PartitionedConsumer, log: ExecutionLog, execution_id: str):
        self.consumer = consumer
        self.log = log
        self.execution_id = execution_id
        self.first = 0

    @property
    def pull(self) -> ContinuousPull:
        return self.consumer._pulls[self.consumer.held[0]]

    async def cancels(self, n: int) -> list[int]:
        appended = []
        for _ in range(n):
            cancel = ExecutionCancelRequested(requested_at=datetime.now(UTC))
            appended.append((await self.log.append(self.execution_id, cancel)).seq)
        return appended


@pytest.fixture
async def pinned(tmp_path: Path) -> AsyncIterator[_Pinned]:
    server = EmbeddedNats(tmp_path / "nats").start()
    nc = await connect(server.url, name="pinned")
    consumer = PartitionedConsumer(nc, SCHEDULER_PARTITIONS, 100)
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        log = ExecutionLog(nc)
        run = _Pinned(consumer, log, new_execution_id())
        started = ExecutionStarted(
            execution_id=run.execution_id,
            definition=load_example("transform-chain"),
            started_at=datetime.now(UTC),
        )
        await consumer.start()
        run.first = await log.start(started)
        handed = await asyncio.wait_for(consumer.next_batch(), 5)
        assert [m.seq for m in handed] == [run.first] and consumer.generation == 1
        handed[-1].ack_now()
        await consumer.done(len(handed))
        yield run
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        await nc.close()
        server.stop()


async def test_deliveries_lost_on_the_way_are_handed_before_a_later_one(
    pinned: _Pinned,
) -> None:
    """With acknowledgements covering everything before them, a delivery lost with a
    connection (a server killed mid-delivery) would be acknowledged by the next one and
    never handled: a gap in the consumer's delivery sequence is read back from the log."""
    pull = pinned.pull
    arrive = pull.on_message
    assert arrive is not None
    lost: list[int] = []

    def lossy(msg: WireMsg) -> None:  # the next two deliveries never reach the consumer
        if len(lost) < 2:
            lost.append(msg.seq)
            return
        arrive(msg)

    pull.on_message = lossy
    appended = await pinned.cancels(3)
    handed = await asyncio.wait_for(pinned.consumer.next_batch(), 5)
    assert lost == appended[:2]
    assert [m.seq for m in handed if m.seq != pinned.first] == appended
    assert pinned.consumer.generation == 2  # what it holds may be stale: dropped


async def test_a_redelivery_arriving_after_a_newer_delivery_leaves_nothing_out(
    pinned: _Pinned,
) -> None:
    """During a take-over, a redelivered older message can arrive after a newer one: the
    gap is read up to the newest delivery waiting, not up to the last to arrive."""
    pull = pinned.pull
    arrive = pull.on_message
    assert arrive is not None
    held: list[WireMsg] = []
    pull.on_message = held.append  # the next deliveries are held back
    appended = await pinned.cancels(3)
    while len(held) < 3:  # noqa: ASYNC110 - waiting for the deliveries to be held
        await asyncio.sleep(0.01)
    arrive(held[2])  # the newest first (a gap: a take-over starts)
    arrive(held[0])  # then an older one, as a redelivery would come
    handed = await asyncio.wait_for(pinned.consumer.next_batch(), 5)
    assert sorted({m.seq for m in handed} - {pinned.first}) == appended
