"""The projected executions and their logs (written only by the projector)."""

from __future__ import annotations

import asyncpg
import msgspec

from flowmaestro.gateway.db import Database
from flowmaestro.gateway.models import (
    CurrentState,
    ExecutionDetail,
    ExecutionSummary,
    LogEntry,
    WaitingInput,
)
from flowmaestro.gateway.projection import current_state

__all__ = ["ExecutionStore"]

_SUMMARY = (
    "e.id, e.workflow_id, e.workflow_version, e.status, e.test, e.started_at, e.completed_at,"
    " e.duration_ms, e.batch_id, e.trigger_id, e.trigger_kind, e.source,"
    " w.name AS workflow_name"
)
_FROM = (
    "executions e LEFT JOIN workflows w"
    " ON w.id = e.workflow_id AND w.owner_id = e.owner_id AND w.deleted_at IS NULL"
)
_INBOX = (
    "SELECT e.id AS execution_id, n.key AS node_id, e.workflow_id, w.name AS workflow_name,"
    " e.workflow_version, e.test, l.metadata -> 'request' AS request,"
    " l.created_at AS waiting_since, e.started_at AS execution_started_at"
    f" FROM {_FROM} CROSS JOIN LATERAL jsonb_each(e.nodes) n"
    " CROSS JOIN LATERAL (SELECT metadata, created_at FROM execution_logs"
    "  WHERE execution_id = e.id AND node_id = n.key AND event = 'node.waiting'"
    "  ORDER BY seq DESC LIMIT 1) l"
    " WHERE e.owner_id = $1 AND e.status IN ('running', 'paused')"
    " AND n.value ->> 'status' = 'waiting'"
    " AND jsonb_typeof(l.metadata -> 'request') = 'object'"
)
"""Waiting nodes that ask a person (a timer's wait carries no request), with the request
their latest `node.waiting` recorded."""


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
        trigger_id=r["trigger_id"],
        trigger_kind=r["trigger_kind"],
        source=r["source"],
        workflow_name=r["workflow_name"],
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
        trigger_id: str | None = None,
        source: str | None = None,
    ) -> tuple[list[ExecutionSummary], int]:
        """One page, newest first, and the total matching; `source` is how the runs
        started (`manual`, `schedule`, `webhook`, `event` or `batch`)."""
        where = ["e.owner_id = $1", "e.test = $2"]
        args: list[object] = [owner_id, test]
        if batch_id is not None:
            args.append(batch_id)
            where.append(f"e.batch_id = ${len(args)}")
        if workflow_id is not None:
            args.append(workflow_id)
            where.append(f"e.workflow_id = ${len(args)}")
        if status is not None:
            args.append(status)
            where.append(f"e.status = ${len(args)}")
        if trigger_id is not None:
            args.append(trigger_id)
            where.append(f"e.trigger_id = ${len(args)}")
        if source is not None:
            args.append(source)
            where.append(f"e.source = ${len(args)}")
        clause = " AND ".join(where)
        async with self.db.connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM executions e WHERE {clause}", *args)
            rows = await conn.fetch(
                f"SELECT {_SUMMARY} FROM {_FROM} WHERE {clause}"
                f" ORDER BY e.started_at DESC, e.id DESC"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
        return [ExecutionSummary(**dict(r)) for r in rows], int(total or 0)

    async def get(self, owner_id: str, execution_id: str) -> ExecutionDetail | None:
        """The projected execution, or None (unknown, another user's, or not projected yet)."""
        record = await self.db.fetchrow(
            f"SELECT e.*, w.name AS workflow_name FROM {_FROM} WHERE e.id = $1 AND e.owner_id = $2",
            execution_id,
            owner_id,
        )
        return None if record is None else _detail(record)

    async def waiting(
        self, owner_id: str, page: int, limit: int, workflow_id: str | None = None
    ) -> tuple[list[WaitingInput], int]:
        """The owner's human-input nodes waiting for an answer, oldest first, and the total."""
        query, args = _INBOX, [owner_id]
        if workflow_id is not None:
            args.append(workflow_id)
            query += f" AND e.workflow_id = ${len(args)}"
        async with self.db.connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM ({query}) q", *args)
            rows = await conn.fetch(
                f"{query} ORDER BY waiting_since, e.id, n.key"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
        return [WaitingInput(**dict(r)) for r in rows], int(total or 0)

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
