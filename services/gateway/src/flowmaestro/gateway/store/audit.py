"""The audit trail: people's actions on workflows and integrations (rows written in the
same transaction as the change), and on executions (events in each run's own log, read
back from their projection)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from flowmaestro.events import Actor
from flowmaestro.gateway.db import Connection, Database, storable
from flowmaestro.gateway.models import AuditEntry

__all__ = ["ANSWERED", "AuditStore", "record_action"]

ANSWERED = "execution.input_answered"
"""The action of a person answering a waiting human-input node."""

# Every entry, from both sources, as one relation; `$1` is the owner of the resources.
_ENTRIES = f"""
    SELECT 'a' || a.id::text AS id, a.created_at AS at, a.actor_id, a.address, a.action,
           a.resource_type, a.resource_id, a.details
    FROM audit_log a WHERE a.owner_id = $1
    UNION ALL
    SELECT l.execution_id || ':' || l.seq::text, l.created_at,
           l.metadata -> 'actor' ->> 'user_id', l.metadata -> 'actor' ->> 'address',
           CASE WHEN l.event = 'node.completed' THEN '{ANSWERED}' ELSE l.event END,
           'execution', l.execution_id,
           jsonb_strip_nulls(jsonb_build_object(
               'node_id', l.node_id, 'reason', l.metadata -> 'reason',
               'workflow_id', e.workflow_id, 'workflow_version', e.workflow_version,
               'test', e.test))
    FROM execution_logs l JOIN executions e ON e.id = l.execution_id
    WHERE e.owner_id = $1 AND l.metadata ? 'actor'
"""


async def record_action(
    conn: Connection,
    owner_id: str,
    actor: Actor | None,
    action: str,
    resource_type: str,
    resource_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a person's action on a resource of `owner_id`, inside the caller's
    transaction (so the change and its record commit together). No actor, no record."""
    if actor is None:
        return
    await conn.execute(
        "INSERT INTO audit_log (owner_id, actor_id, address, action, resource_type,"
        " resource_id, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        owner_id,
        actor.user_id,
        actor.address,
        action,
        resource_type,
        resource_id,
        storable(details or {}),
        datetime.now(UTC),
    )


def _entry(record: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=record["id"],
        at=record["at"],
        actor=Actor(user_id=record["actor_id"], address=record["address"]),
        action=record["action"],
        resource_type=record["resource_type"],
        resource_id=record["resource_id"],
        details=record["details"],
    )


class AuditStore:
    """One user's audit trail: the records of actions on their own resources."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        owner_id: str,
        page: int,
        limit: int,
        resource_type: str | None = None,
        resource_id: str | None = None,
        actor_id: str | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """One page, newest first, and how many entries match."""
        where: list[str] = []
        args: list[object] = [owner_id]
        for column, value in (
            ("resource_type", resource_type),
            ("resource_id", resource_id),
            ("actor_id", actor_id),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        async with self.db.connection() as conn:
            total = await conn.fetchval(
                f"SELECT count(*) FROM ({_ENTRIES}) entries {clause}", *args
            )
            rows = await conn.fetch(
                f"SELECT * FROM ({_ENTRIES}) entries {clause} ORDER BY at DESC, id DESC"
                f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                (page - 1) * limit,
            )
        return [_entry(r) for r in rows], int(total or 0)
