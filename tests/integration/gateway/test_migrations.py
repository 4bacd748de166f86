"""Migrations bring rows written by an older gateway to today's shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest

from flowmaestro.gateway.db import Database
from flowmaestro.gateway.migrate import migrate, migrations
from flowmaestro.gateway.projection import current_state
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)

_EXECUTION = (
    "INSERT INTO executions (id, owner_id, status, inputs, outputs, nodes, started_at,"
    " last_seq, event_count) VALUES ($1, 'u1', $2, '{}', '{}', $3::jsonb, $4, 3, 3)"
)
_LOG = (
    "INSERT INTO execution_logs (execution_id, seq, node_id, level, event, message, metadata,"
    " created_at) VALUES ($1, $2, $3, $4, $5, '', $6::jsonb, $7)"
)


async def test_older_rows_get_warn_levels_pending_status_and_variables() -> None:
    async with fresh_database() as url:
        conn = await asyncpg.connect(url)
        try:
            first = migrations()[0]
            assert first.version == 1
            await conn.execute(first.sql)
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute("INSERT INTO schema_migrations VALUES (1, $1)", first.name)
            done = {
                "a": {"status": "completed", "output": {"n": 1}, "output_ref": None},
                "b": {"status": "completed", "output": None, "output_ref": "outputs/big"},
                "c": {"status": "skipped", "output": None, "output_ref": None},
            }
            await conn.execute(_EXECUTION, "done", "completed", json.dumps(done), T0)
            waiting = {"a": {"status": "pending"}, "b": {"status": "pending"}}
            await conn.execute(_EXECUTION, "waiting", "running", json.dumps(waiting), T0)
            for seq, level, event, meta in (
                (1, "info", "node.completed", {"vars": {"x": 1, "y": 1}}),
                (2, "warning", "node.retrying", {}),
                (3, "info", "node.completed", {"vars": {"x": 2}}),
            ):
                await conn.execute(_LOG, "done", seq, "a", level, event, json.dumps(meta), T0)
        finally:
            await conn.close()

        db = Database(url)
        await db.open()
        try:
            assert 2 in await migrate(db)
            levels = [r["level"] for r in await db.fetch("SELECT level FROM execution_logs")]
            rows = {
                r["id"]: r
                for r in await db.fetch("SELECT id, status, nodes, variables FROM executions")
            }
        finally:
            await db.close()
        assert sorted(levels) == ["info", "info", "warn"]
        assert rows["done"]["status"] == "completed"
        done_row = rows["done"]
        assert done_row["variables"] == {"x": 2, "y": 1}  # later sets win
        assert current_state(done_row["nodes"], done_row["variables"]) == {
            "nodes": {"a": {"n": 1}},
            "variables": {"x": 2, "y": 1},
            "output_refs": {"b": "outputs/big"},
        }
        assert rows["waiting"]["status"] == "pending"
        assert rows["waiting"]["variables"] == {}


async def test_older_executions_learn_how_they_started() -> None:
    async with fresh_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for older in (m for m in migrations() if m.version < 9):
                await conn.execute(older.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2)", older.version, older.name
                )
            for eid in ("by-hand", "by-hook", "by-batch"):
                await conn.execute(_EXECUTION, eid, "completed", "{}", T0)
            await conn.execute(
                "UPDATE executions SET trigger_kind = 'webhook' WHERE id = 'by-hook'"
            )
            await conn.execute("UPDATE executions SET batch_id = 'b1' WHERE id = 'by-batch'")
        finally:
            await conn.close()

        db = Database(url)
        await db.open()
        try:
            assert 9 in await migrate(db)
            rows = await db.fetch("SELECT id, source FROM executions")
        finally:
            await db.close()
        assert {r["id"]: r["source"] for r in rows} == {
            "by-hand": "manual",
            "by-hook": "webhook",
            "by-batch": "batch",
        }
