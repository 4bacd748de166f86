"""The projected executions and their logs (written only by the projector)."""

from __future__ import annotations

import asyncpg
import msgspec

from flowmaestro.gateway.db import Database
from flowmaestro.gateway.models import CurrentState, ExecutionDetail, ExecutionSummary, LogEntry
from flowmaestro.gateway.projection import current_state

__all__ = ["ExecutionStore"]

_SUMMARY = (
    "id, workflow_id, workflow_version, status, test, started_at, completed_at, duration_ms,"
    " batch_id"
)


def _detail(r: asyncpg.Record) -> ExecutionDetail:
    return ExecutionDetail(
        id=r["id"],
        workflow_id=r["workflow_id"],
        workflow_version=r["workflow_version"],
        status=r["status"],
        test=r["test"],
        started_at=r["started_at"],
        completed_at=r["completed_at"],
        duration_ms=r["duration_ms"],
        batch_id=r["batch_id"],
        inputs=r["inputs"],
        outputs=r["outputs"],
        nodes=r["nodes"],
        error=r["error"],
        failed_node=r["failed_node"],
        event_count=r["event_count"],
        current_state=msgspec.convert(current_state(r["nodes"], r["variables"]), CurrentState),
    )


class ExecutionStore:
    """Reads of one user's executions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        owner_id: str,
        page: int,
        limit: int,
        workflow_id: str | None = None,
        status: str | None = None,
        test: bool = False,
        batch_id: str | None = None,
    ) -> tuple[list[ExecutionSummary], int]:
        """One page, newest first, and the total matching."""
        where = ["owner_id = $1", "test = $2"]
        args: list[object] = [owner_id, test]
        if batch_id is not None:
            args.append(batch_id)
            where.append(f"batch_id = ${len(args)}")
        if workflow_id is not None:
            args.append(workflow_id)
            where.append(f"workflow_id = ${len(args)}")
        if status is not None:
            args.append(status)
            where.append(f"status = ${len(args)}")
        clause = " AND ".join(where)
        async with self.db.connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM executions WHERE {clause}", *args)
            rows = await conn.fetch(
                f"SELECT {_SUMMARY} FROM executions WHERE {clause}"
                f" ORDER BY started_at DESC, id DESC"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
        return [ExecutionSummary(**dict(r)) for r in rows], int(total or 0)

    async def get(self, owner_id: str, execution_id: str) -> ExecutionDetail | None:
        """The projected execution, or None (unknown, another user's, or not projected yet)."""
        record = await self.db.fetchrow(
            "SELECT * FROM executions WHERE id = $1 AND owner_id = $2", execution_id, owner_id
        )
        return None if record is None else _detail(record)

    async def logs(
        self, execution_id: str, level: str | None = None, node_id: str | None = None
    ) -> list[LogEntry]:
        """The execution's log entries in order (the caller has checked ownership)."""
        where = ["execution_id = $1"]
        args: list[object] = [execution_id]
        if level is not None:
            args.append(level)
            where.append(f"level = ${len(args)}")
        if node_id is not None:
            args.append(node_id)
            where.append(f"node_id = ${len(args)}")
        rows = await self.db.fetch(
            "SELECT seq, node_id, level, event, message, metadata, created_at"
            f" FROM execution_logs WHERE {' AND '.join(where)} ORDER BY seq",
            *args,
        )
        return [LogEntry(**dict(r)) for r in rows]
