"""A long loop on JetStream: the scheduler snapshots it every N events into FM_SNAPSHOTS;
stopped mid-run, a fresh scheduler folds it from the snapshot and the log after it (equal
to folding the whole log) and runs it to the same outcome.

The first scheduler is stopped once it has handled everything delivered to it (the
executors paused meanwhile): a message delivered to a stopped scheduler and never
handled would be acknowledged by the next one's cumulative acknowledgement (the
consumer's `AckPolicy.ALL`), which is the consumption's concern, not the snapshots'."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, ExecutionCompleted, NodeCompleted, fold
from flowmaestro.events.names import EXEC_STREAM, SCHEDULER_PARTITIONS, scheduler_partition
from flowmaestro.executors import EXECUTORS, ExecutorWorker
from flowmaestro.runtime import (
    EmbeddedNats,
    ExecutionLog,
    Settings,
    connect,
    ensure_topology,
    new_execution_id,
)
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.runtime.snapshots import decode_snapshot
from flowmaestro.scheduler import Scheduler
from tests.support.engine import TEST_TENANT_CAPS, wait_for_end
from tests.support.long_loop import loop_started

pytestmark = pytest.mark.integration

ITEMS = 200
EVERY = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A server of its own: only this module's schedulers act on its logs."""
    server = EmbeddedNats(Path(tmp_path_factory.mktemp("snapshots"))).start()
    yield server
    server.stop()


@pytest.fixture
async def nc(server: EmbeddedNats) -> AsyncIterator[Client]:
    client = await connect(server.url, name="snapshots-test")
    await ensure_topology(client.jetstream(), CATALOGUE)
    yield client
    await client.close()


@contextlib.asynccontextmanager
async def executors(server: EmbeddedNats) -> AsyncIterator[None]:
    """Every executor pool, until the block ends."""
    executor_nc = await connect(server.url, name="snapshots-executors")
    stop = asyncio.Event()
    worker = ExecutorWorker(executor_nc, dict(EXECUTORS), tenant_caps=TEST_TENANT_CAPS)
    task = asyncio.ensure_future(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=5)
        task.cancel()
        await executor_nc.close()


async def handled_all(nc: Client) -> None:
    """Until the scheduler's partition consumers have nothing delivered unacknowledged,
    nor waiting."""
    js = nc.jetstream()
    async with asyncio.timeout(10):
        while True:
            busy = False
            for partition in range(SCHEDULER_PARTITIONS):
                info = await js.consumer_info(EXEC_STREAM, scheduler_partition(partition))
                busy = busy or bool(info.num_ack_pending or info.num_pending)
            if not busy:
                return
            await asyncio.sleep(0.05)


async def test_a_fresh_scheduler_recovers_a_long_loop_from_snapshot_and_tail(
    server: EmbeddedNats, nc: Client
) -> None:
    settings = Settings(snapshot_every=EVERY)
    first_nc = await connect(server.url, name="scheduler-1")
    first = Scheduler(JetStreamEventLog(first_nc), settings=settings)
    stop = asyncio.Event()
    running = asyncio.ensure_future(first.run(stop))
    started = loop_started(new_execution_id(), ITEMS, concurrency=8)
    execution_id = started.execution_id
    log = ExecutionLog(nc)
    async with executors(server):
        await log.start(started)
        async with asyncio.timeout(30):
            while first.snapshots.written < 4:  # noqa: ASYNC110 - polling a plain value
                await asyncio.sleep(0.01)
    await handled_all(nc)
    stop.set()
    await running  # writes in flight are finished before it returns
    await first_nc.close()

    store = JetStreamEventLog(nc).snapshots
    data = await store.get(execution_id)
    assert data is not None
    snapshot = decode_snapshot(data, execution_id)
    records = await log.read(execution_id)
    assert snapshot.last_seq > 1, "the snapshot is a prefix of the log"
    assert snapshot == fold(r for r in records if r[0] <= snapshot.last_seq)
    assert not fold(records).status.terminal, "stopped mid-run"

    second_nc = await connect(server.url, name="scheduler-2")
    second = Scheduler(JetStreamEventLog(second_nc), settings=settings)
    recovered = await second._load(execution_id, 0)
    assert recovered == fold(await log.read(execution_id))
    stop = asyncio.Event()
    running = asyncio.ensure_future(second.run(stop))
    try:
        async with executors(server):
            state, records = await wait_for_end(nc, execution_id, timeout=60)
            async with asyncio.timeout(10):
                while await store.get(execution_id) is not None:  # noqa: ASYNC110 - deleted at the end
                    await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
        await second_nc.close()
    end = next(e for _, e in records if isinstance(e, ExecutionCompleted))
    assert end.outputs["result"]["results"] == list(range(ITEMS))
    assert end.outputs["result"]["errors"] == []
    loop_results = [e for _, e in records if isinstance(e, NodeCompleted) and e.node_id == "loop"]
    assert len(loop_results) == 1, "the loop completed once"
    assert state.nodes["loop"].child_results.keys() == set(range(ITEMS))
