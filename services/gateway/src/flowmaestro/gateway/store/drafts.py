"""Each workflow's server-side draft: saved as it is (it may be invalid), published into
a version, or discarded. Every write moves the workflow's revision on, and a write that
names an older revision is a conflict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from flowmaestro.events import Actor
from flowmaestro.events.changes import compatibility, definition_diff
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.draft_models import (
    CompatibilityOut,
    ExecutionCompatibility,
    compatibility_out,
)
from flowmaestro.gateway.errors import NotFoundError
from flowmaestro.gateway.store.audit import record_action
from flowmaestro.gateway.store.workflows import WorkflowStore

__all__ = ["COMPATIBILITY_LIMIT", "Draft", "DraftStore"]

COMPATIBILITY_LIMIT = 200
"""At most this many unfinished executions are checked (newest first)."""

_UNFINISHED = ("pending", "running", "paused")


class Draft:
    """A workflow with its draft (or, without one, its published definition)."""

    def __init__(self, record: asyncpg.Record) -> None:
        self.workflow_id: str = record["id"]
        self.revision: int = record["revision"]
        self.has_draft = record["draft_definition"] is not None
        self.name: str = record["draft_name"] if self.has_draft else record["name"]
        self.definition: dict[str, Any] = (
            record["draft_definition"] if self.has_draft else record["definition"]
        )
        self.base_version: int = (
            record["base_version"] if self.has_draft else record["current_version"]
        )
        self.version: int = record["current_version"]
        self.published: dict[str, Any] = record["definition"]
        self.updated_at: datetime = (
            record["draft_updated_at"] if self.has_draft else record["updated_at"]
        )


_SELECT = (
    "SELECT w.*, d.name AS draft_name, d.definition AS draft_definition, d.base_version,"
    " d.updated_at AS draft_updated_at FROM workflows w"
    " LEFT JOIN workflow_drafts d ON d.workflow_id = w.id"
    " WHERE w.id = $1 AND w.owner_id = $2 AND w.deleted_at IS NULL"
)


class DraftStore:
    """Drafts of one user's workflows; another user's are not found."""

    def __init__(self, db: Database, workflows: WorkflowStore) -> None:
        self.db = db
        self.workflows = workflows

    async def get(self, owner_id: str, workflow_id: str) -> Draft:
        """The draft, or the published definition when there is none."""
        record = await self.db.fetchrow(_SELECT, workflow_id, owner_id)
        if record is None:
            raise NotFoundError(f"no workflow {workflow_id!r}")
        return Draft(record)

    async def save(
        self,
        owner_id: str,
        workflow_id: str,
        name: str | None,
        definition: dict[str, Any],
        expected_revision: int | None,
    ) -> Draft:
        """Store the draft as it is (no audit entry: autosaves are frequent)."""
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            current = await self.workflows.locked(conn, owner_id, workflow_id, expected_revision)
            await conn.execute(
                "INSERT INTO workflow_drafts (workflow_id, name, definition, base_version,"
                " updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workflow_id) DO UPDATE"
                " SET name = EXCLUDED.name, definition = EXCLUDED.definition,"
                " updated_at = EXCLUDED.updated_at",
                workflow_id,
                name if name is not None else current["name"],
                definition,
                current["current_version"],
                now,
            )
            await conn.execute(
                "UPDATE workflows SET revision = revision + 1 WHERE id = $1", workflow_id
            )
            record = await conn.fetchrow(_SELECT, workflow_id, owner_id)
        assert record is not None
        return Draft(record)

    async def discard(
        self, owner_id: str, workflow_id: str, expected_revision: int | None
    ) -> Draft:
        """Drop the draft: the editor shows the published definition again."""
        async with self.db.transaction() as conn:
            await self.workflows.locked(conn, owner_id, workflow_id, expected_revision)
            await conn.execute("DELETE FROM workflow_drafts WHERE workflow_id = $1", workflow_id)
            await conn.execute(
                "UPDATE workflows SET revision = revision + 1 WHERE id = $1", workflow_id
            )
            record = await conn.fetchrow(_SELECT, workflow_id, owner_id)
        assert record is not None
        return Draft(record)

    async def publish(
        self,
        owner_id: str,
        workflow_id: str,
        draft: Draft,
        definition: dict[str, Any],
        actor: Actor | None,
    ) -> tuple[asyncpg.Record, bool]:
        """Make `definition` (the checked form of `draft`) the current version, unless
        only layout changed; the draft goes. Conflicts when the workflow moved on since
        `draft` was read. Returns the row and whether a version was made."""
        async with self.db.transaction() as conn:
            current = await self.workflows.locked(conn, owner_id, workflow_id, draft.revision)
            name = draft.name if draft.name != current["name"] else None
            record = await self.workflows.write(conn, current, name, None, definition, None, None)
            await conn.execute("DELETE FROM workflow_drafts WHERE workflow_id = $1", workflow_id)
            made = record["current_version"] != current["current_version"]
            details = {
                "name": record["name"],
                "version": record["current_version"],
                "new_version": made,
            }
            await record_action(
                conn, owner_id, actor, "workflow.published", "workflow", workflow_id, details
            )
        return record, made

    async def compatibility(
        self, owner_id: str, workflow_id: str, candidate: dict[str, Any]
    ) -> CompatibilityOut:
        """Each unfinished execution of the workflow against `candidate`."""
        draft = await self.get(owner_id, workflow_id)
        rows = await self.db.fetch(
            "SELECT e.id, e.status, e.workflow_version, e.test, e.started_at, e.nodes,"
            " v.definition FROM executions e LEFT JOIN workflow_versions v"
            " ON v.workflow_id = e.workflow_id AND v.version = e.workflow_version"
            " WHERE e.owner_id = $1 AND e.workflow_id = $2 AND e.status = ANY($3::text[])"
            " ORDER BY e.started_at DESC LIMIT $4",
            owner_id,
            workflow_id,
            list(_UNFINISHED),
            COMPATIBILITY_LIMIT + 1,
        )
        found: list[ExecutionCompatibility] = []
        counts = {"safe": 0, "pinned": 0, "incompatible": 0}
        for row in rows[:COMPATIBILITY_LIMIT]:
            nodes = row["nodes"] if isinstance(row["nodes"], dict) else {}
            statuses = {
                str(k): str(v.get("status")) for k, v in nodes.items() if isinstance(v, dict)
            }
            old = row["definition"] if isinstance(row["definition"], dict) else draft.published
            verdict = compatibility(old, candidate, statuses)
            counts[verdict.verdict] += 1
            found.append(compatibility_out(row, verdict))
        return CompatibilityOut(
            workflow_id=workflow_id,
            version=draft.version,
            executions=found,
            counts=counts,
            truncated=len(rows) > COMPATIBILITY_LIMIT,
            diff=definition_diff(draft.published, candidate),
        )
