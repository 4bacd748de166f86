"""Workflows and their immutable versions; deletes are soft."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from flowmaestro.events import Actor
from flowmaestro.events.changes import same_apart_from_layout
from flowmaestro.gateway.db import Connection, Database
from flowmaestro.gateway.errors import ConflictError, NotFoundError
from flowmaestro.gateway.models import VersionOut, WorkflowOut
from flowmaestro.gateway.store.audit import record_action

__all__ = ["SORT_COLUMNS", "WorkflowStore", "edit_conflict", "workflow_out"]

SORT_COLUMNS = {"name": "name", "created_at": "created_at", "updated_at": "updated_at"}


def workflow_out(record: asyncpg.Record) -> WorkflowOut:
    return WorkflowOut(
        id=record["id"],
        name=record["name"],
        description=record["description"],
        version=record["current_version"],
        definition=record["definition"],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


def _version(record: asyncpg.Record) -> VersionOut:
    return VersionOut(
        workflow_id=record["workflow_id"],
        version=record["version"],
        definition=record["definition"],
        created_at=record["created_at"],
        restored_from=record["restored_from"],
    )


def _missing(workflow_id: str) -> NotFoundError:
    return NotFoundError(f"no workflow {workflow_id!r}")


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    encoder = msgspec.json.Encoder(order="sorted")
    return encoder.encode(a) == encoder.encode(b)


def edit_conflict(revision: int, updated_at: datetime) -> ConflictError:
    """The workflow changed since the revision the client holds (another tab or user)."""
    return ConflictError(
        "the workflow was changed elsewhere since you loaded it; reload it or overwrite",
        {"revision": revision, "updated_at": updated_at.isoformat()},
        code="EDIT_CONFLICT",
    )


class WorkflowStore:
    """One user's workflows; another user's ids are simply not found."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, owner_id: str, page: int, limit: int, sort: str, order: str
    ) -> tuple[list[WorkflowOut], int]:
        """One page of live workflows, and how many there are in all."""
        column = SORT_COLUMNS[sort]
        direction = "ASC" if order == "asc" else "DESC"
        async with self.db.connection() as conn:
            total = await conn.fetchval(
                "SELECT count(*) FROM workflows WHERE owner_id = $1 AND deleted_at IS NULL",
                owner_id,
            )
            rows = await conn.fetch(
                f"SELECT * FROM workflows WHERE owner_id = $1 AND deleted_at IS NULL"
                f" ORDER BY {column} {direction}, id LIMIT $2 OFFSET $3",
                owner_id,
                limit,
                (page - 1) * limit,
            )
        return [workflow_out(r) for r in rows], int(total or 0)

    async def create(
        self,
        owner_id: str,
        name: str,
        description: str,
        definition: dict[str, Any],
        actor: Actor | None = None,
    ) -> WorkflowOut:
        """A new workflow at version 1."""
        now = datetime.now(UTC)
        workflow_id = uuid.uuid4().hex
        async with self.db.transaction() as conn:
            record = await conn.fetchrow(
                "INSERT INTO workflows (id, owner_id, name, description, current_version,"
                " definition, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $6, $6)"
                " RETURNING *",
                workflow_id,
                owner_id,
                name,
                description,
                definition,
                now,
            )
            await conn.execute(
                "INSERT INTO workflow_versions (workflow_id, version, definition, created_at)"
                " VALUES ($1, 1, $2, $3)",
                workflow_id,
                definition,
                now,
            )
            details = {"name": name, "version": 1}
            await record_action(
                conn, owner_id, actor, "workflow.created", "workflow", workflow_id, details
            )
        assert record is not None
        return workflow_out(record)

    async def get(self, owner_id: str, workflow_id: str) -> WorkflowOut:
        """The workflow, or `NotFoundError`."""
        record = await self.db.fetchrow(
            "SELECT * FROM workflows WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL",
            workflow_id,
            owner_id,
        )
        if record is None:
            raise _missing(workflow_id)
        return workflow_out(record)

    async def update(
        self,
        owner_id: str,
        workflow_id: str,
        name: str | None,
        description: str | None,
        definition: dict[str, Any] | None,
        restored_from: int | None = None,
        actor: Actor | None = None,
        expected_revision: int | None = None,
    ) -> WorkflowOut:
        """Apply changes; a definition that differs from the current one beyond layout is
        a new version (a moved node only updates the stored layout). With
        `expected_revision`, a workflow written since raises `ConflictError`."""
        async with self.db.transaction() as conn:
            current = await self.locked(conn, owner_id, workflow_id, expected_revision)
            record = await self.write(
                conn, current, name, description, definition, restored_from, actor
            )
        return workflow_out(record)

    async def locked(
        self,
        conn: Connection,
        owner_id: str,
        workflow_id: str,
        expected_revision: int | None = None,
    ) -> asyncpg.Record:
        """The workflow's row, locked for this transaction; `NotFoundError`, or
        `ConflictError` when its revision is not `expected_revision`."""
        current = await conn.fetchrow(
            "SELECT * FROM workflows WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL"
            " FOR UPDATE",
            workflow_id,
            owner_id,
        )
        if current is None:
            raise _missing(workflow_id)
        if expected_revision is not None and current["revision"] != expected_revision:
            raise edit_conflict(current["revision"], current["updated_at"])
        return current

    async def write(
        self,
        conn: Connection,
        current: asyncpg.Record,
        name: str | None,
        description: str | None,
        definition: dict[str, Any] | None,
        restored_from: int | None = None,
        actor: Actor | None = None,
    ) -> asyncpg.Record:
        """Write changes to the locked row `current` (see `update`); the revision moves on."""
        now = datetime.now(UTC)
        workflow_id, owner_id = current["id"], current["owner_id"]
        version = current["current_version"]
        stored = current["definition"]
        changed = definition is not None and not same_apart_from_layout(definition, stored)
        if definition is not None and (changed or restored_from is not None):
            version += 1
            await conn.execute(
                "INSERT INTO workflow_versions (workflow_id, version, definition, created_at,"
                " restored_from) VALUES ($1, $2, $3, $4, $5)",
                workflow_id,
                version,
                definition,
                now,
                restored_from,
            )
        record = await conn.fetchrow(
            "UPDATE workflows SET name = $2, description = $3, current_version = $4,"
            " definition = $5, updated_at = $6, revision = revision + 1 WHERE id = $1"
            " RETURNING *",
            workflow_id,
            name if name is not None else current["name"],
            description if description is not None else current["description"],
            version,
            definition if definition is not None and not _same(definition, stored) else stored,
            now,
        )
        assert record is not None
        action = "workflow.updated" if restored_from is None else "workflow.restored"
        details: dict[str, Any] = {"name": record["name"], "version": version}
        if restored_from is not None:
            details["restored_from"] = restored_from
        await record_action(conn, owner_id, actor, action, "workflow", workflow_id, details)
        return record

    async def delete(self, owner_id: str, workflow_id: str, actor: Actor | None = None) -> None:
        """Soft-delete: the workflow disappears from the API, its versions and runs remain."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE workflows SET deleted_at = $3 WHERE id = $1 AND owner_id = $2"
                " AND deleted_at IS NULL",
                workflow_id,
                owner_id,
                datetime.now(UTC),
            )
            if status.endswith(" 0"):
                raise _missing(workflow_id)
            await record_action(conn, owner_id, actor, "workflow.deleted", "workflow", workflow_id)

    async def versions(self, owner_id: str, workflow_id: str) -> list[VersionOut]:
        """Every version, newest first."""
        await self.get(owner_id, workflow_id)
        rows = await self.db.fetch(
            "SELECT * FROM workflow_versions WHERE workflow_id = $1 ORDER BY version DESC",
            workflow_id,
        )
        return [_version(r) for r in rows]

    async def version(self, owner_id: str, workflow_id: str, version: int) -> VersionOut:
        """One version, or `NotFoundError`."""
        await self.get(owner_id, workflow_id)
        record = await self.db.fetchrow(
            "SELECT * FROM workflow_versions WHERE workflow_id = $1 AND version = $2",
            workflow_id,
            version,
        )
        if record is None:
            raise NotFoundError(f"workflow {workflow_id!r} has no version {version}")
        return _version(record)

    async def to_run(self, owner_id: str, workflow_id: str, version: int | None) -> VersionOut:
        """The version to run (the current one when `version` is None) in one query, or
        `NotFoundError` naming what is missing."""
        record = await self.db.fetchrow(
            "SELECT v.* FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id"
            " AND v.version = COALESCE($3, w.current_version)"
            " WHERE w.id = $1 AND w.owner_id = $2 AND w.deleted_at IS NULL",
            workflow_id,
            owner_id,
            version,
        )
        if record is None:
            await self.get(owner_id, workflow_id)
            raise NotFoundError(f"workflow {workflow_id!r} has no version {version}")
        return _version(record)

    async def restore(
        self,
        owner_id: str,
        workflow_id: str,
        version: int,
        actor: Actor | None = None,
        expected_revision: int | None = None,
    ) -> WorkflowOut:
        """Roll back: a new version equal to `version` (history is never rewritten); the
        draft, if any, is discarded with it."""
        old = await self.version(owner_id, workflow_id, version)
        async with self.db.transaction() as conn:
            current = await self.locked(conn, owner_id, workflow_id, expected_revision)
            record = await self.write(
                conn, current, None, None, old.definition, restored_from=version, actor=actor
            )
            await conn.execute("DELETE FROM workflow_drafts WHERE workflow_id = $1", workflow_id)
        return workflow_out(record)
