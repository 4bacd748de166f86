"""Batches in PostgreSQL: the durable plan of rows, what the driver claims and marks, and
one user's reads (a batch of another user is not found).

A row's outcome is not copied here: it is its execution's projected row, joined by the
execution id, so the row ends exactly when (and as often as) its execution does — once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from flowmaestro.events import Actor
from flowmaestro.gateway.db import Connection, Database, storable
from flowmaestro.gateway.errors import ConflictError, NotFoundError
from flowmaestro.gateway.models import BatchCounts, BatchOut, BatchRowOut
from flowmaestro.gateway.store.audit import record_action

__all__ = [
    "ACTIVE",
    "BATCH_CANCELLED",
    "BATCH_STARTED",
    "BatchPlan",
    "BatchStore",
    "NewBatch",
    "RowToCancel",
    "RowToStart",
]

ACTIVE = ("running", "cancelling")
"""Statuses of a batch the driver still acts on."""

BATCH_STARTED = "batch.started"
BATCH_CANCELLED = "batch.cancel_requested"
"""Audit actions of a person starting and cancelling a batch."""

_ENDED = "('completed', 'failed', 'cancelled')"
_INSERT_SLICE = 5000

# A row's status: its own state until it starts, then its execution's (`pending` until the
# projector has seen the start).
_ROW_STATUS = (
    "CASE WHEN r.state = 'queued' THEN 'queued' WHEN r.state = 'skipped' THEN 'cancelled'"
    " ELSE COALESCE(e.status, 'pending') END"
)
_ROWS = "batch_rows r LEFT JOIN executions e ON e.id = r.execution_id"
_IN_FLIGHT = (
    f"SELECT count(*) FROM {_ROWS} WHERE r.batch_id = $1 AND r.state = 'started'"
    f" AND (e.status IS NULL OR e.status NOT IN {_ENDED})"
)


@dataclass(frozen=True, slots=True)
class NewBatch:
    """Everything a batch is made of when it is accepted."""

    batch_id: str
    owner_id: str
    workflow_id: str
    workflow_version: int
    definition: dict[str, Any]
    workflows: dict[str, Any]
    columns: list[str]
    concurrency: int
    rows: list[dict[str, Any]]
    execution_ids: list[str]
    actor: Actor
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RowToStart:
    """A claimed row whose `execution.started` may not be in the log yet."""

    row_index: int
    execution_id: str
    inputs: dict[str, Any]
    started_at: datetime


@dataclass(frozen=True, slots=True)
class RowToCancel:
    """A started row of a cancelled batch whose execution has not been told to stop."""

    row_index: int
    execution_id: str


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What one step of the driver does for a batch, decided under the batch's lock."""

    batch_id: str
    owner_id: str
    workflow_id: str
    workflow_version: int
    definition: dict[str, Any]
    workflows: dict[str, Any]
    actor: Actor | None
    """Who started the batch: each row's run is started in their name."""
    cancel_actor: Actor | None
    """Who asked the batch to stop: each running row's cancel request is made in their
    name (None for a batch cancelled before this was recorded: the starter's is used)."""
    start: list[RowToStart]
    cancel: list[RowToCancel]
    ended: bool


def _counts(records: list[asyncpg.Record]) -> BatchCounts:
    return msgspec.convert({r["status"]: r["n"] for r in records}, BatchCounts)


def _batch(record: asyncpg.Record, counts: BatchCounts) -> BatchOut:
    ended = counts.completed + counts.failed + counts.cancelled
    return BatchOut(
        id=record["id"],
        workflow_id=record["workflow_id"],
        workflow_version=record["workflow_version"],
        status=record["status"],
        concurrency=record["concurrency"],
        total=record["total"],
        ended=ended,
        counts=counts,
        columns=list(record["columns"]),
        created_at=record["created_at"],
        ended_at=record["ended_at"],
    )


def _row(record: asyncpg.Record) -> BatchRowOut:
    status = record["status"]
    return BatchRowOut(
        row=record["row_index"] + 1,
        execution_id=record["execution_id"],
        status=status,
        inputs=record["inputs"],
        outputs=record["outputs"] if status == "completed" else None,
        error=record["error"],
    )


class BatchStore:
    """Batches and their rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, batch: NewBatch) -> None:
        """Record the batch and every row, and the audit entry, in one transaction."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO batches (id, owner_id, workflow_id, workflow_version, definition,"
                " workflows, columns, concurrency, total, status, actor_id, address, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, $11, $12)",
                batch.batch_id,
                batch.owner_id,
                batch.workflow_id,
                batch.workflow_version,
                batch.definition,
                batch.workflows,
                batch.columns,
                batch.concurrency,
                len(batch.rows),
                batch.actor.user_id,
                batch.actor.address,
                batch.created_at,
            )
            # in slices, so each statement stays well inside the database's time bound
            for first in range(0, len(batch.rows), _INSERT_SLICE):
                last = first + _INSERT_SLICE
                await conn.execute(
                    "INSERT INTO batch_rows (batch_id, row_index, execution_id, inputs)"
                    " SELECT $1, ($4 + j.o - 1)::int, e.id, j.v"
                    " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS j (v, o)"
                    " JOIN unnest($3::text[]) WITH ORDINALITY AS e (id, o) ON e.o = j.o",
                    batch.batch_id,
                    storable(batch.rows[first:last]),
                    batch.execution_ids[first:last],
                    first,
                )
            await record_action(
                conn,
                batch.owner_id,
                batch.actor,
                BATCH_STARTED,
                "batch",
                batch.batch_id,
                {
                    "workflow_id": batch.workflow_id,
                    "workflow_version": batch.workflow_version,
                    "rows": len(batch.rows),
                    "concurrency": batch.concurrency,
                },
            )

    async def _owned(
        self, conn: Connection, owner_id: str, batch_id: str, lock: bool = False
    ) -> asyncpg.Record:
        record = await conn.fetchrow(
            "SELECT * FROM batches WHERE id = $1 AND owner_id = $2"
            + (" FOR UPDATE" if lock else ""),
            batch_id,
            owner_id,
        )
        if record is None:
            raise NotFoundError(f"no batch {batch_id!r}")
        return record

    async def _counts(self, conn: Connection, batch_id: str) -> BatchCounts:
        return _counts(
            await conn.fetch(
                f"SELECT {_ROW_STATUS} AS status, count(*) AS n FROM {_ROWS}"
                " WHERE r.batch_id = $1 GROUP BY 1",
                batch_id,
            )
        )

    async def get(self, owner_id: str, batch_id: str) -> BatchOut:
        """The batch with its counts by status; `NotFoundError` for another user's."""
        async with self.db.connection() as conn:
            record = await self._owned(conn, owner_id, batch_id)
            return _batch(record, await self._counts(conn, batch_id))

    async def list(
        self, owner_id: str, page: int, limit: int, workflow_id: str | None = None
    ) -> tuple[list[BatchOut], int]:
        """One page of batches, newest first, and how many match."""
        where = "owner_id = $1" + (" AND workflow_id = $2" if workflow_id is not None else "")
        args: list[object] = [owner_id]
        if workflow_id is not None:
            args.append(workflow_id)
        async with self.db.connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM batches WHERE {where}", *args)
            records = await conn.fetch(
                f"SELECT * FROM batches WHERE {where} ORDER BY created_at DESC, id DESC"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
            batches = [_batch(r, await self._counts(conn, r["id"])) for r in records]
        return batches, int(total or 0)

    async def rows(
        self, owner_id: str, batch_id: str, page: int, limit: int, status: str | None = None
    ) -> tuple[list[BatchRowOut], int]:
        """One page of rows in row order (optionally of one status), and how many match."""
        async with self.db.connection() as conn:
            await self._owned(conn, owner_id, batch_id)
            where = "r.batch_id = $1" + (f" AND {_ROW_STATUS} = $2" if status else "")
            args: list[object] = [batch_id]
            if status:
                args.append(status)
            total = await conn.fetchval(f"SELECT count(*) FROM {_ROWS} WHERE {where}", *args)
            records = await conn.fetch(
                f"SELECT r.row_index, r.execution_id, r.inputs, r.state, {_ROW_STATUS} AS status,"
                f" e.outputs, e.error FROM {_ROWS} WHERE {where} ORDER BY r.row_index"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
        return [_row(r) for r in records], int(total or 0)

    async def all_rows(
        self, owner_id: str, batch_id: str, chunk: int = 500
    ) -> AsyncIterator[list[BatchRowOut]]:
        """Every row in order, `chunk` at a time (for downloads)."""
        page = 1
        while True:
            rows, _ = await self.rows(owner_id, batch_id, page, chunk)
            if not rows:
                return
            yield rows
            page += 1

    async def request_cancel(self, owner_id: str, batch_id: str, actor: Actor) -> None:
        """Start no more rows and stop the running ones (the driver does it); recorded in
        the audit trail. `ConflictError` when the batch has already ended."""
        async with self.db.transaction() as conn:
            record = await self._owned(conn, owner_id, batch_id, lock=True)
            if record["status"] == "cancelling":
                return  # asked before: the same answer, recorded once
            if record["status"] not in ACTIVE:
                raise ConflictError(f"batch {batch_id} has already ended", code="BATCH_ENDED")
            await conn.execute(
                "UPDATE batches SET status = 'cancelling', cancel_requested_at = $2,"
                " cancel_actor_id = $3, cancel_address = $4 WHERE id = $1",
                batch_id,
                datetime.now(UTC),
                actor.user_id,
                actor.address,
            )
            details = {"workflow_id": record["workflow_id"]}
            await record_action(conn, owner_id, actor, BATCH_CANCELLED, "batch", batch_id, details)

    async def active_ids(self) -> list[str]:
        """Batches the driver still acts on, oldest first."""
        records = await self.db.fetch(
            "SELECT id FROM batches WHERE status IN ('running', 'cancelling')"
            " ORDER BY created_at, id"
        )
        return [r["id"] for r in records]

    async def plan(self, batch_id: str) -> BatchPlan | None:
        """Under the batch's row lock (so gateways driving the same batch take turns and
        the cap holds): claim queued rows up to the free slots, or skip them all when
        cancelling; list started rows not yet known to be in the log, and running rows not
        yet told to stop; end the batch when nothing runs or waits."""
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            batch = await conn.fetchrow("SELECT * FROM batches WHERE id = $1 FOR UPDATE", batch_id)
            if batch is None or batch["status"] not in ACTIVE:
                return None
            cancelling = batch["status"] == "cancelling"
            in_flight = int(await conn.fetchval(_IN_FLIGHT, batch_id) or 0)
            if cancelling:
                await conn.execute(
                    "UPDATE batch_rows SET state = 'skipped'"
                    " WHERE batch_id = $1 AND state = 'queued'",
                    batch_id,
                )
            elif batch["concurrency"] > in_flight:
                await conn.execute(
                    "UPDATE batch_rows SET state = 'started', started_at = $3"
                    " WHERE batch_id = $1 AND row_index IN (SELECT row_index FROM batch_rows"
                    "  WHERE batch_id = $1 AND state = 'queued' ORDER BY row_index LIMIT $2)",
                    batch_id,
                    batch["concurrency"] - in_flight,
                    now,
                )
            start = [
                RowToStart(r["row_index"], r["execution_id"], r["inputs"], r["started_at"])
                for r in await conn.fetch(
                    "SELECT row_index, execution_id, inputs, started_at FROM batch_rows"
                    " WHERE batch_id = $1 AND state = 'started' AND NOT published"
                    " ORDER BY row_index",
                    batch_id,
                )
            ]
            cancel: list[RowToCancel] = []
            if cancelling:
                cancel = [
                    RowToCancel(r["row_index"], r["execution_id"])
                    for r in await conn.fetch(
                        f"SELECT r.row_index, r.execution_id FROM {_ROWS}"
                        " WHERE r.batch_id = $1 AND r.state = 'started' AND NOT r.cancel_sent"
                        f" AND (e.status IS NULL OR e.status NOT IN {_ENDED})"
                        " ORDER BY r.row_index",
                        batch_id,
                    )
                ]
            queued = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM batch_rows WHERE batch_id = $1 AND state = 'queued')",
                batch_id,
            )
            ended = in_flight == 0 and not queued and not start
            if ended:
                # a cancel that came after the last row had ended stopped nothing
                stopped = cancelling and await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM batch_rows WHERE batch_id = $1"
                    " AND (state = 'skipped' OR cancel_sent))",
                    batch_id,
                )
                await conn.execute(
                    "UPDATE batches SET status = $2, ended_at = $3 WHERE id = $1",
                    batch_id,
                    "cancelled" if stopped else "completed",
                    now,
                )
        actor = cancel_actor = None
        if batch["actor_id"] is not None:
            actor = Actor(user_id=batch["actor_id"], address=batch["address"])
        if batch["cancel_actor_id"] is not None:
            cancel_actor = Actor(user_id=batch["cancel_actor_id"], address=batch["cancel_address"])
        return BatchPlan(
            batch_id=batch_id,
            owner_id=batch["owner_id"],
            workflow_id=batch["workflow_id"],
            workflow_version=batch["workflow_version"],
            definition=batch["definition"],
            workflows=batch["workflows"],
            actor=actor,
            cancel_actor=cancel_actor,
            start=start,
            cancel=cancel,
            ended=ended,
        )

    async def mark_published(self, batch_id: str, rows: list[int]) -> None:
        """These rows' `execution.started` is in the log."""
        await self.db.execute(
            "UPDATE batch_rows SET published = true WHERE batch_id = $1"
            " AND row_index = ANY($2::int[])",
            batch_id,
            rows,
        )

    async def mark_cancel_sent(self, batch_id: str, rows: list[int]) -> None:
        """These rows' executions have been asked to stop (or had ended)."""
        await self.db.execute(
            "UPDATE batch_rows SET cancel_sent = true WHERE batch_id = $1"
            " AND row_index = ANY($2::int[])",
            batch_id,
            rows,
        )
