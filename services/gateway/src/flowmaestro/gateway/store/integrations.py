"""Integrations: credentials sealed with AES-GCM at rest, mirrored for executors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from flowmaestro.events import Actor
from flowmaestro.gateway.db import Connection, Database, storable
from flowmaestro.gateway.errors import NotFoundError
from flowmaestro.gateway.models import IntegrationCreate, IntegrationOut, IntegrationUpdate
from flowmaestro.gateway.store.audit import record_action
from flowmaestro.runtime.secrets import IntegrationDirectory, IntegrationRecord, KeyRing, Sealed

__all__ = ["MASK", "IntegrationStore"]

MASK = "********"


def _out(r: asyncpg.Record) -> IntegrationOut:
    return IntegrationOut(
        id=r["id"],
        name=r["name"],
        type=r["type"],
        config=r["config"],
        credentials={name: MASK for name in r["credential_fields"]},
        enabled=r["enabled"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _record(r: asyncpg.Record) -> IntegrationRecord:
    sealed = r["credentials"]
    return IntegrationRecord(
        id=r["id"],
        owner_id=r["owner_id"],
        name=r["name"],
        type=r["type"],
        config=r["config"],
        credentials=msgspec.convert(sealed, Sealed) if sealed else None,
        enabled=r["enabled"],
    )


class IntegrationStore:
    """One user's integrations; every change is mirrored into the executors' directory."""

    def __init__(self, db: Database, keys: KeyRing, directory: IntegrationDirectory) -> None:
        self.db = db
        self.keys = keys
        self.directory = directory

    def _seal(self, integration_id: str, credentials: dict[str, Any]) -> dict[str, Any] | None:
        if not credentials:
            return None
        return msgspec.to_builtins(self.keys.seal(credentials, integration_id))

    async def list(self, owner_id: str) -> list[IntegrationOut]:
        """Every integration of the user, oldest first."""
        rows = await self.db.fetch(
            "SELECT * FROM integrations WHERE owner_id = $1 ORDER BY created_at, id", owner_id
        )
        return [_out(r) for r in rows]

    async def get(self, owner_id: str, integration_id: str) -> IntegrationOut:
        """One of the user's integrations (masked), or `NotFoundError`."""
        record = await self.db.fetchrow(
            "SELECT * FROM integrations WHERE id = $1 AND owner_id = $2", integration_id, owner_id
        )
        if record is None:
            raise NotFoundError(f"no integration {integration_id!r}")
        return _out(record)

    async def create(
        self, owner_id: str, body: IntegrationCreate, actor: Actor | None = None
    ) -> IntegrationOut:
        """Store a new integration (credentials sealed with its id as context)."""
        integration_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            record = await self._insert(conn, owner_id, integration_id, body, now)
            details = {"name": body.name, "type": body.type}
            await record_action(
                conn, owner_id, actor, "integration.created", "integration", integration_id, details
            )
        await self.directory.put(_record(record))
        return _out(record)

    async def _insert(
        self,
        conn: Connection,
        owner_id: str,
        integration_id: str,
        body: IntegrationCreate,
        now: datetime,
    ) -> asyncpg.Record:
        record = await conn.fetchrow(
            "INSERT INTO integrations (id, owner_id, name, type, config, credentials,"
            " credential_fields, enabled, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING *",
            integration_id,
            owner_id,
            body.name,
            body.type,
            body.config,
            self._seal(integration_id, body.credentials),
            storable(sorted(body.credentials)),
            body.enabled,
            now,
        )
        assert record is not None
        return record

    async def update(
        self,
        owner_id: str,
        integration_id: str,
        body: IntegrationUpdate,
        actor: Actor | None = None,
    ) -> IntegrationOut:
        """Apply changes; omitted credentials keep the sealed ones."""
        async with self.db.transaction() as conn:
            current = await conn.fetchrow(
                "SELECT * FROM integrations WHERE id = $1 AND owner_id = $2 FOR UPDATE",
                integration_id,
                owner_id,
            )
            if current is None:
                raise NotFoundError(f"no integration {integration_id!r}")
            sealed, fields = current["credentials"], current["credential_fields"]
            if body.credentials is not None:
                sealed = self._seal(integration_id, body.credentials)
                fields = storable(sorted(body.credentials))
            record = await conn.fetchrow(
                "UPDATE integrations SET name = $2, type = $3, config = $4, credentials = $5,"
                " credential_fields = $6, enabled = $7, updated_at = $8 WHERE id = $1"
                " RETURNING *",
                integration_id,
                body.name if body.name is not None else current["name"],
                body.type if body.type is not None else current["type"],
                body.config if body.config is not None else current["config"],
                sealed,
                fields,
                body.enabled if body.enabled is not None else current["enabled"],
                datetime.now(UTC),
            )
            assert record is not None
            changed = sorted(
                f
                for f in ("name", "type", "config", "credentials", "enabled")
                if getattr(body, f) is not None
            )
            details = {"name": record["name"], "type": record["type"], "changed": changed}
            await record_action(
                conn, owner_id, actor, "integration.updated", "integration", integration_id, details
            )
        await self.directory.put(_record(record))
        return _out(record)

    async def delete(self, owner_id: str, integration_id: str, actor: Actor | None = None) -> None:
        """Remove the integration here and from the executors' directory."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "DELETE FROM integrations WHERE id = $1 AND owner_id = $2",
                integration_id,
                owner_id,
            )
            if status.endswith(" 0"):
                raise NotFoundError(f"no integration {integration_id!r}")
            await record_action(
                conn, owner_id, actor, "integration.deleted", "integration", integration_id
            )
        await self.directory.delete(integration_id)

    async def sealed(self, owner_id: str, integration_id: str) -> Sealed | None:
        """The stored sealed credentials (for tests and key rotation tools)."""
        value = await self.db.fetchval(
            "SELECT credentials FROM integrations WHERE id = $1 AND owner_id = $2",
            integration_id,
            owner_id,
        )
        return msgspec.convert(value, Sealed) if value else None
