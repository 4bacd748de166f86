"""Read after write: a replicated stream's followers answer direct gets too, and one that
lags behind answers from an older log. A scheduler loading an execution reads its log
through the message it is handling (`through`): a read that falls short is asked again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, ExecutionStarted, NodeCompleted
from flowmaestro.events.names import log_subjects, wait_timer_key
from flowmaestro.runtime import (
    EmbeddedNats,
    ExecutionLog,
    connect,
    ensure_topology,
    new_execution_id,
)
from flowmaestro.runtime.log import leader_read
from tests.support.engine import load_example

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_nc(tmp_path: Path) -> AsyncIterator[Client]:
    """A server of this test's own: nothing else appends to its stream meanwhile."""
    server = EmbeddedNats(tmp_path / "nats").start()
    nc = await connect(server.url, name="log-reads-test")
    await ensure_topology(nc.jetstream(), CATALOGUE)
    yield nc
    await nc.close()
    server.stop()


async def test_the_last_sequence_is_the_leaders(own_nc: Client) -> None:
    log = ExecutionLog(own_nc)
    execution_id = new_execution_id()
    started = ExecutionStarted(
        execution_id=execution_id,
        definition=load_example("transform-chain"),
        started_at=datetime.now(UTC),
    )
    first = await log.start(started)
    completed = NodeCompleted(node_id="a", attempt=1, output=1, completed_at=datetime.now(UTC))
    appended = (await log.append(execution_id, completed)).seq
    assert await log.last_seq(execution_id) == appended
    assert await log.last_seq(new_execution_id()) == 0
    records = await log.read(execution_id, 0, through=appended)
    assert [seq for seq, _ in records] == [first, appended]
    assert await log.read(execution_id, first, through=appended) == records[1:]


async def test_a_read_through_a_removed_message_reads_what_is_left(own_nc: Client) -> None:
    """An execution's outcomes can be purged after their delivery (a refused child
    start): a read through one stops at what the log's leader holds, at once."""
    log = ExecutionLog(own_nc)
    execution_id = new_execution_id()
    assert await asyncio.wait_for(log.read(execution_id, 0, through=10**6), 1.0) == []


async def test_the_leader_answers_what_a_replica_behind_misses(own_nc: Client) -> None:
    """What a read falls short of is read from the stream's leader, message by message:
    the same records as a direct get, in order, bounded by count and sequence."""
    log = ExecutionLog(own_nc)
    execution_id = new_execution_id()
    started = ExecutionStarted(
        execution_id=execution_id,
        definition=load_example("transform-chain"),
        started_at=datetime.now(UTC),
    )
    await log.start(started)
    for n in range(4):
        done = NodeCompleted(node_id=f"n{n}", attempt=1, output=n, completed_at=datetime.now(UTC))
        await log.append(execution_id, done)
    direct = await log.read_raw(execution_id)
    subject = log_subjects(execution_id)
    from_leader = await leader_read(own_nc, subject, 0)
    assert [(seq, data) for seq, _, data, _ in from_leader] == direct
    assert [seq for seq, *_ in await leader_read(own_nc, subject, direct[0][0], 2)] == [
        seq for seq, _ in direct[1:3]
    ]
    assert [seq for seq, *_ in await leader_read(own_nc, subject, 0, up_to=direct[1][0])] == [
        seq for seq, _ in direct[:2]
    ]


async def test_a_timer_is_pending_until_it_fires(own_nc: Client) -> None:
    """A fired timer's schedule goes as its event is stored: what tells a scheduler that a
    wait handled again needs no timer armed again."""
    from datetime import timedelta

    log = ExecutionLog(own_nc)
    execution_id = new_execution_id()
    started = ExecutionStarted(
        execution_id=execution_id,
        definition=load_example("transform-chain"),
        started_at=datetime.now(UTC),
    )
    await log.start(started)
    later = NodeCompleted(node_id="n", attempt=1, completed_at=datetime.now(UTC))
    at = datetime.now(UTC) + timedelta(seconds=60)
    await (await log.schedule(execution_id, "later", at, later))  # stored
    assert await log.timer_pending(execution_id, "later")
    await log.cancel_timer(execution_id, "later")
    assert not await log.timer_pending(execution_id, "later")

    soon = NodeCompleted(node_id="s", attempt=1, completed_at=datetime.now(UTC))
    await (await log.schedule(execution_id, "soon", datetime.now(UTC), soon))
    deadline = asyncio.get_running_loop().time() + 5
    while not any(e == soon for _, e in await log.read(execution_id)):
        assert asyncio.get_running_loop().time() < deadline, "the timer never fired"
        await asyncio.sleep(0.1)
    assert not await log.timer_pending(execution_id, "soon")

    # armed again with the same key after it fired (a wait handed again as if for the
    # first time, as a consumer may after a server's restart): stored once, fired once
    again = NodeCompleted(node_id="k", attempt=1, completed_at=datetime.now(UTC))
    key = wait_timer_key(execution_id, "keyed", again.completed_at)
    for _ in range(2):
        await (await log.schedule(execution_id, "keyed", datetime.now(UTC), again, key))
        deadline = asyncio.get_running_loop().time() + 5
        while not any(e == again for _, e in await log.read(execution_id)):
            assert asyncio.get_running_loop().time() < deadline, "the timer never fired"
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # a second fire would have come by now
    assert [e for _, e in await log.read(execution_id)].count(again) == 1
