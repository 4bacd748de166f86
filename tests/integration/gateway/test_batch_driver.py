"""The batch driver's recovery, step by step against PostgreSQL and JetStream: a gateway
that dies after claiming rows, or after appending their starts but before recording it,
leaves work that the next step (of any gateway) finishes with one start per row; two
drivers stepping one batch at once never exceed its cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import Actor, ExecutionStarted
from flowmaestro.events.names import batch_execution_id
from flowmaestro.gateway.batches import BatchDriver, new_batch
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.migrate import migrate
from flowmaestro.gateway.models import VersionOut
from flowmaestro.gateway.store.batches import BatchStore
from flowmaestro.runtime import ExecutionLog
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration

DEFINITION = {
    "nodes": {
        "in": {"id": "in", "type": "input", "data": {"schema": {"n": {"type": "integer"}}}},
        "out": {"id": "out", "type": "output", "data": {"output": "${inputs.n}"}},
    },
    "edges": [{"id": "1", "source": "in", "target": "out"}],
}


@pytest.fixture
async def store() -> AsyncIterator[BatchStore]:
    """A batch store on a database of its own (no gateway drives its batches)."""
    async with fresh_database() as url:
        db = Database(url)
        await db.open()
        await migrate(db)
        await db.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at)"
            " VALUES ('u1', 'u1@example.com', 'U', 'x', now())"
        )
        try:
            yield BatchStore(db)
        finally:
            await db.close()


SLOW = {
    "nodes": {
        **DEFINITION["nodes"],
        "wait": {"id": "wait", "type": "echo", "data": {"value": 1, "delay_seconds": 30}},
    },
    "edges": [*DEFINITION["edges"], {"id": "2", "source": "in", "target": "wait"}],
}
"""Runs that last, whether or not an engine runs beside the test."""


async def _batch(
    store: BatchStore, rows: int, cap: int, definition: dict[str, Any] = DEFINITION
) -> str:
    version = VersionOut(
        workflow_id="w1", version=1, definition=definition, created_at=datetime.now(UTC)
    )
    inputs = [{"n": i} for i in range(rows)]
    batch = new_batch("u1", version, {}, ["n"], inputs, cap, Actor(user_id="u1"))
    await store.create(batch)
    return batch.batch_id


async def _starts(log: ExecutionLog, execution_id: str) -> int:
    return sum(isinstance(e, ExecutionStarted) for _, e in await log.read(execution_id))


async def test_claimed_rows_are_started_once_by_the_next_step(
    store: BatchStore, nc: Client
) -> None:
    log = ExecutionLog(nc)
    batch_id = await _batch(store, rows=5, cap=2)
    # the first gateway claims two rows and dies before appending anything
    crashed = await store.plan(batch_id)
    assert crashed is not None and [r.row_index for r in crashed.start] == [0, 1]
    ids = [r.execution_id for r in crashed.start]
    assert [await _starts(log, i) for i in ids] == [0, 0]

    # the next step claims nothing more (both still count against the cap) and starts them
    await BatchDriver(store, log).step(batch_id)
    assert [await _starts(log, i) for i in ids] == [1, 1]
    page, _ = await store.rows("u1", batch_id, 1, 10)
    assert [r.status for r in page] == ["pending", "pending", "queued", "queued", "queued"]

    # a gateway that appended but died before recording it: the start is appended again,
    # and the log still holds one (same id, same event)
    await store.db.execute("UPDATE batch_rows SET published = false WHERE batch_id = $1", batch_id)
    await BatchDriver(store, log).step(batch_id)
    assert [await _starts(log, i) for i in ids] == [1, 1]
    first = (await log.read(ids[0]))[0][1]
    assert isinstance(first, ExecutionStarted) and first.batch_id == batch_id
    assert first.inputs == {"n": 0} and first.owner_id == "u1"


async def test_drivers_stepping_together_keep_the_cap(store: BatchStore, nc: Client) -> None:
    log = ExecutionLog(nc)
    batch_id = await _batch(store, rows=30, cap=3)
    drivers = [BatchDriver(store, log) for _ in range(4)]
    await asyncio.gather(*(d.step(batch_id) for d in drivers for _ in range(3)))
    started = await store.db.fetchval(
        "SELECT count(*) FROM batch_rows WHERE batch_id = $1 AND state = 'started'", batch_id
    )
    assert started == 3  # none has ended in this database's projection: no slot freed


async def test_a_cancelled_batch_skips_what_never_started(store: BatchStore, nc: Client) -> None:
    log = ExecutionLog(nc)
    batch_id = await _batch(store, rows=4, cap=1, definition=SLOW)
    driver = BatchDriver(store, log)
    await driver.step(batch_id)
    await store.request_cancel("u1", batch_id, Actor(user_id="u1"))
    await store.request_cancel("u1", batch_id, Actor(user_id="u1"))  # asked twice: once
    await driver.step(batch_id)
    page, _ = await store.rows("u1", batch_id, 1, 10)
    assert [r.status for r in page][1:] == ["cancelled"] * 3
    records = await log.read(page[0].execution_id)
    assert any(type(e).__name__ == "ExecutionCancelRequested" for _, e in records)
    entries = await store.db.fetch("SELECT action FROM audit_log WHERE resource_id = $1", batch_id)
    assert sorted(r["action"] for r in entries) == ["batch.cancel_requested", "batch.started"]


async def test_rows_beyond_one_insert_slice_keep_their_numbers(store: BatchStore) -> None:
    batch_id = await _batch(store, rows=5003, cap=1)
    last, total = await store.rows("u1", batch_id, 101, 50)  # rows 5001..5003
    assert total == 5003
    assert [(r.row, r.inputs) for r in last] == [
        (5001, {"n": 5000}),
        (5002, {"n": 5001}),
        (5003, {"n": 5002}),
    ]
    assert last[-1].execution_id == batch_execution_id(batch_id, 5002)
