"""The projector keeps running executions' states and folds only what their logs gained:
a log projected over several batches gives the rows one pass over the whole log gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from flowmaestro.events import (
    CATALOGUE,
    ExecutionStarted,
    NodeCompleted,
    NodeSkipped,
    parse_definition,
)
from flowmaestro.gateway.commands import migrate_database
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.projector import Projector
from flowmaestro.runtime import (
    EmbeddedNats,
    ExecutionLog,
    connect,
    ensure_topology,
    new_execution_id,
)
from tests.integration.gateway.conftest import example

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _rows(database_url: str, execution_id: str) -> tuple[list[tuple], list[tuple]]:
    conn = await asyncpg.connect(database_url)
    try:
        execution = await conn.fetch("SELECT * FROM executions WHERE id = $1", execution_id)
        logs = await conn.fetch(
            "SELECT * FROM execution_logs WHERE execution_id = $1 ORDER BY seq", execution_id
        )
    finally:
        await conn.close()
    return [tuple(r) for r in execution], [tuple(r) for r in logs]


async def _forget(database_url: str, execution_id: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM execution_logs WHERE execution_id = $1", execution_id)
        await conn.execute("DELETE FROM executions WHERE id = $1", execution_id)
    finally:
        await conn.close()


@pytest.fixture
async def own_nc(tmp_path: Path) -> AsyncIterator[Client]:
    """A server of the test's own: no scheduler advances the log written here."""
    server = EmbeddedNats(tmp_path / "nats").start()
    nc = await connect(server.url, name="projector-test")
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        yield nc
    finally:
        await nc.close()
        server.stop()


async def test_a_log_projected_in_batches_gives_the_rows_of_one_pass(
    own_nc: Client, database_url: str
) -> None:
    log = ExecutionLog(own_nc)
    execution_id = new_execution_id()
    await log.start(
        ExecutionStarted(
            execution_id=execution_id,
            definition=parse_definition(example("branch")),
            inputs={"amount": 5},
            started_at=T0,
        )
    )
    await migrate_database(database_url)  # as a gateway starting on it would
    db = Database(database_url, 10.0)
    await db.open()
    try:
        batches = Projector(own_nc, db, name="projector-batches-test")
        done = NodeCompleted(node_id="start", attempt=1, completed_at=T0 + timedelta(seconds=1))
        first_batch = (await log.append(execution_id, done)).seq
        assert await batches.project({execution_id: first_batch}) == first_batch
        # an event without a time of its own opens the next batch: its log row takes the
        # time of the event before it, which the projector held from the batch before
        await log.append(execution_id, NodeSkipped(node_id="big"))
        later = T0 + timedelta(seconds=2)
        checked = NodeCompleted(node_id="check", attempt=1, completed_at=later)
        second_batch = (await log.append(execution_id, checked)).seq
        assert await batches.project({execution_id: second_batch}) == second_batch
        assert await batches.project({execution_id: second_batch}) == 0  # nothing new
        in_batches = await _rows(database_url, execution_id)

        await _forget(database_url, execution_id)
        whole = Projector(own_nc, db, name="projector-batches-test")
        await whole.project({execution_id: second_batch})
        assert await _rows(database_url, execution_id) == in_batches
    finally:
        await db.close()
    executions, logs = in_batches
    assert len(executions) == 1 and len(logs) == 4


async def test_the_states_held_stay_within_their_budget(own_nc: Client, database_url: str) -> None:
    """A tenant's many or huge runs cannot make the gateway hold more than the budget:
    the least recently projected are let go (and read whole when they come again)."""
    log = ExecutionLog(own_nc)
    ids = [new_execution_id() for _ in range(3)]
    for execution_id in ids:
        await log.start(
            ExecutionStarted(
                execution_id=execution_id,
                definition=parse_definition(example("branch")),
                inputs={"amount": 5},
                started_at=T0,
            )
        )
    one_log = sum(len(data) for _, data in await log.read_raw(ids[0]))
    await migrate_database(database_url)
    db = Database(database_url, 10.0)
    await db.open()
    try:
        projector = Projector(own_nc, db, name="projector-budget-test", max_held_bytes=2 * one_log)
        for execution_id in ids:
            await projector.project({execution_id: 0})
        assert projector._held_bytes <= 2 * one_log
        assert list(projector._held) == ids[1:]  # the least recently projected let go

        done = NodeCompleted(node_id="start", attempt=1, completed_at=T0 + timedelta(seconds=1))
        last = (await log.append(ids[0], done)).seq
        assert await projector.project({ids[0]: last}) == last  # read whole again
        assert projector._held_bytes <= 2 * one_log
        rows = await _rows(database_url, ids[0])
        await _forget(database_url, ids[0])
        await Projector(own_nc, db, name="projector-budget-test").project({ids[0]: last})
        assert await _rows(database_url, ids[0]) == rows

        tiny = Projector(own_nc, db, name="projector-budget-test", max_held_bytes=one_log // 2)
        await tiny.project({ids[1]: 0})
        assert not tiny._held  # larger than the whole budget: never held
    finally:
        await db.close()
