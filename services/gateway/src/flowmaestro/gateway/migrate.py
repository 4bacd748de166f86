"""Numbered SQL migrations (`migrations/NNNN_name.sql`), applied once each, in order."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from flowmaestro.gateway.db import Database

__all__ = ["Migration", "migrate", "migrations"]

_LOCK_ID = 7_311_042  # one advisory lock so two gateways starting together do not race


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with the gateway, by version."""
    found: list[Migration] = []
    for entry in resources.files("flowmaestro.gateway.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def migrate(db: Database) -> list[int]:
    """Apply the migrations not yet applied; returns their versions."""
    applied: list[int] = []
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied
