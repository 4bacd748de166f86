"""Triggers and their fires in PostgreSQL; webhook secrets sealed like integrations'.

Every change is recorded in the audit trail in the same transaction. Arming or stopping a
cron schedule in JetStream happens inside that transaction too, before it commits, so a
refused schedule leaves no row claiming one.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from flowmaestro.events import Actor
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.errors import NotFoundError
from flowmaestro.gateway.store.audit import record_action
from flowmaestro.runtime.secrets import KeyRing, Sealed

__all__ = ["Effect", "FireRow", "TriggerRow", "TriggerStore", "no_effect"]

_LAST_FIRES = 10


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """One stored trigger (its secret still sealed)."""

    id: str
    owner_id: str
    workflow_id: str
    name: str
    kind: str
    inputs: dict[str, Any]
    config: dict[str, Any]
    secret: Sealed | None
    webhook_token: str | None
    paused: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FireRow:
    """One recorded fire."""

    trigger_id: str
    fire_key: str
    outcome: str
    fired_at: datetime
    execution_id: str | None
    scheduled_at: datetime | None
    detail: str | None


def _row(r: asyncpg.Record) -> TriggerRow:
    sealed = r["secret"]
    return TriggerRow(
        id=r["id"],
        owner_id=r["owner_id"],
        workflow_id=r["workflow_id"],
        name=r["name"],
        kind=r["kind"],
        inputs=r["inputs"],
        config=r["config"],
        secret=msgspec.convert(sealed, Sealed) if sealed else None,
        webhook_token=r["webhook_token"],
        paused=r["paused"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


Effect = Callable[[TriggerRow], Awaitable[None]]
"""What a change does outside PostgreSQL (arming or stopping a schedule), run before the
change commits."""


class TriggerStore:
    """One user's triggers, and the fires of every trigger."""

    def __init__(self, db: Database, keys: KeyRing) -> None:
        self.db = db
        self.keys = keys

    def seal(self, trigger_id: str, secret: str) -> dict[str, Any]:
        """A webhook secret sealed with the trigger's id as context."""
        return msgspec.to_builtins(self.keys.seal(secret, f"trigger:{trigger_id}"))

    def open_secret(self, row: TriggerRow) -> str | None:
        """The webhook secret in the clear (None when the webhook is unsigned)."""
        if row.secret is None:
            return None
        return str(self.keys.open(row.secret, f"trigger:{row.id}"))

    async def list(self, owner_id: str, workflow_id: str | None = None) -> list[TriggerRow]:
        """The user's triggers (of one workflow), oldest first."""
        if workflow_id is None:
            rows = await self.db.fetch(
                "SELECT * FROM triggers WHERE owner_id = $1 ORDER BY created_at, id", owner_id
            )
        else:
            rows = await self.db.fetch(
                "SELECT * FROM triggers WHERE owner_id = $1 AND workflow_id = $2"
                " ORDER BY created_at, id",
                owner_id,
                workflow_id,
            )
        return [_row(r) for r in rows]

    async def get(self, owner_id: str, trigger_id: str) -> TriggerRow:
        """The user's trigger; `NotFoundError` for an unknown one or another user's."""
        r = await self.db.fetchrow(
            "SELECT * FROM triggers WHERE id = $1 AND owner_id = $2", trigger_id, owner_id
        )
        if r is None:
            raise NotFoundError(f"no trigger {trigger_id!r}")
        return _row(r)

    async def by_id(self, trigger_id: str) -> TriggerRow | None:
        """Any trigger by id (for its fires)."""
        r = await self.db.fetchrow("SELECT * FROM triggers WHERE id = $1", trigger_id)
        return None if r is None else _row(r)

    async def by_token(self, token: str) -> TriggerRow | None:
        """The webhook trigger whose URL carries `token`."""
        r = await self.db.fetchrow(
            "SELECT * FROM triggers WHERE webhook_token = $1 AND kind = 'webhook'", token
        )
        return None if r is None else _row(r)

    async def event_triggers(self, owner_id: str) -> list[TriggerRow]:
        """The owner's event triggers that are not paused."""
        rows = await self.db.fetch(
            "SELECT * FROM triggers WHERE owner_id = $1 AND kind = 'event' AND NOT paused"
            " ORDER BY created_at, id",
            owner_id,
        )
        return [_row(r) for r in rows]

    async def create(
        self,
        owner_id: str,
        values: dict[str, Any],
        actor: Actor | None,
        effect: Effect,
    ) -> TriggerRow:
        """Store a new trigger (`values`: workflow_id, name, kind, inputs, config, paused,
        and the secret in the clear or None)."""
        trigger_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        secret = values.get("secret")
        token = secrets.token_urlsafe(32) if values["kind"] == "webhook" else None
        async with self.db.transaction() as conn:
            r = await conn.fetchrow(
                "INSERT INTO triggers (id, owner_id, workflow_id, name, kind, inputs, config,"
                " secret, webhook_token, paused, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *",
                trigger_id,
                owner_id,
                values["workflow_id"],
                values["name"],
                values["kind"],
                values["inputs"],
                values["config"],
                self.seal(trigger_id, secret) if secret else None,
                token,
                values["paused"],
                now,
            )
            assert r is not None
            row = _row(r)
            details = {"name": row.name, "kind": row.kind, "workflow_id": row.workflow_id}
            await record_action(
                conn, owner_id, actor, "trigger.created", "trigger", trigger_id, details
            )
            await effect(row)
        return row

    async def update(
        self,
        owner_id: str,
        trigger_id: str,
        change: Callable[[TriggerRow], dict[str, Any]],
        action: str,
        actor: Actor | None,
        effect: Effect,
    ) -> TriggerRow:
        """Apply `change(current) -> changed columns` (name, inputs, config, secret,
        paused) and record `action` with the changed column names."""
        async with self.db.transaction() as conn:
            current = await conn.fetchrow(
                "SELECT * FROM triggers WHERE id = $1 AND owner_id = $2 FOR UPDATE",
                trigger_id,
                owner_id,
            )
            if current is None:
                raise NotFoundError(f"no trigger {trigger_id!r}")
            changed = change(_row(current))
            merged = {c: current[c] for c in ("name", "inputs", "config", "secret", "paused")}
            merged.update(changed)
            if "secret" in changed and changed["secret"] is not None:
                merged["secret"] = self.seal(trigger_id, changed["secret"])
            r = await conn.fetchrow(
                "UPDATE triggers SET name = $2, inputs = $3, config = $4, secret = $5,"
                " paused = $6, updated_at = $7 WHERE id = $1 RETURNING *",
                trigger_id,
                merged["name"],
                merged["inputs"],
                merged["config"],
                merged["secret"],
                merged["paused"],
                datetime.now(UTC),
            )
            assert r is not None
            row = _row(r)
            details = {
                "name": row.name,
                "kind": row.kind,
                "workflow_id": row.workflow_id,
                "changed": sorted(changed),
            }
            await record_action(conn, owner_id, actor, action, "trigger", trigger_id, details)
            await effect(row)
        return row

    async def delete(
        self, owner_id: str, trigger_id: str, actor: Actor | None, effect: Effect
    ) -> None:
        """Remove the trigger (its recorded fires stay with its runs)."""
        async with self.db.transaction() as conn:
            r = await conn.fetchrow(
                "DELETE FROM triggers WHERE id = $1 AND owner_id = $2 RETURNING *",
                trigger_id,
                owner_id,
            )
            if r is None:
                raise NotFoundError(f"no trigger {trigger_id!r}")
            row = _row(r)
            details = {"name": row.name, "kind": row.kind, "workflow_id": row.workflow_id}
            await record_action(
                conn, owner_id, actor, "trigger.deleted", "trigger", trigger_id, details
            )
            await effect(row)

    async def record_fire(
        self,
        trigger_id: str,
        fire_key: str,
        outcome: str,
        execution_id: str | None = None,
        scheduled_at: datetime | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record one fire; False when this fire was recorded before (a repeat)."""
        status = await self.db.execute(
            "INSERT INTO trigger_fires (trigger_id, fire_key, execution_id, outcome,"
            " scheduled_at, fired_at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (trigger_id, fire_key) DO NOTHING",
            trigger_id,
            fire_key,
            execution_id,
            outcome,
            scheduled_at,
            datetime.now(UTC),
            detail,
        )
        return status.endswith(" 1")

    async def started_before(self, trigger_id: str, scheduled_at: datetime) -> FireRow | None:
        """The latest schedule fire before the one due at `scheduled_at` that started a run."""
        r = await self.db.fetchrow(
            "SELECT * FROM trigger_fires WHERE trigger_id = $1 AND scheduled_at < $2"
            " AND outcome = 'started' ORDER BY scheduled_at DESC LIMIT 1",
            trigger_id,
            scheduled_at,
        )
        return None if r is None else FireRow(**dict(r))

    async def last_fires(self, trigger_ids: list[str]) -> dict[str, list[FireRow]]:
        """The latest fires of each trigger, newest first."""
        if not trigger_ids:
            return {}
        rows = await self.db.fetch(
            "SELECT f.* FROM unnest($1::text[]) AS t(id) CROSS JOIN LATERAL ("
            " SELECT * FROM trigger_fires WHERE trigger_id = t.id"
            f" ORDER BY fired_at DESC LIMIT {_LAST_FIRES}) f",
            trigger_ids,
        )
        found: dict[str, list[FireRow]] = {}
        for r in rows:
            found.setdefault(r["trigger_id"], []).append(FireRow(**dict(r)))
        return found


async def no_effect(_row: TriggerRow) -> None:
    """A change with nothing to do outside PostgreSQL."""
