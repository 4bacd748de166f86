"""`database` runs parameterised SQL against the machine's PostgreSQL, in its own database,
as an ordinary role; privileged roles, Unix sockets and ambient settings are refused."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from nats.aio.client import Client
from psycopg import sql

from flowmaestro.events import ExecutionStatus
from flowmaestro.executors.egress.postgres import ROLE_KIND, pool_count
from flowmaestro.executors.postgres import close_pools
from flowmaestro.runtime import free_port
from tests.support.engine import run
from tests.support.workflows import one_node, register_integration

pytestmark = pytest.mark.integration

SERVER = os.environ.get("FLOWMAESTRO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(autouse=True)
def _reach_the_test_server(allow_loopback: None) -> None:
    """The test server is on 127.0.0.1, which only the operator's allow-list opens."""


def _as(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}"))


@pytest.fixture(scope="module")
async def admin_dsn() -> AsyncIterator[str]:
    """A fresh database with a small `orders` table (as the server's superuser)."""
    name = f"fm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(f"{SERVER}/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {SERVER}: {exc}")
    await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{SERVER}/{name}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric(10,2), "
            "placed date, tags jsonb)"
        )
        await conn.execute(
            "INSERT INTO orders SELECT g, 'c' || (g % 3), g * 1.5, date '2030-01-01' + g, "
            "jsonb_build_object('n', g) FROM generate_series(1, 20) g"
        )
    try:
        yield url
    finally:
        await close_pools()
        await admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        await admin.close()


@contextlib.asynccontextmanager
async def role(admin_dsn: str, *grants: str) -> AsyncIterator[str]:
    """A login role of its own (member of `grants`) that may use `orders`; its DSN."""
    name = f"fm_node_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        await conn.execute(sql.SQL("GRANT ALL ON orders TO {}").format(sql.Identifier(name)))
        for granted in grants:
            await conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(name))
            )
    try:
        yield _as(admin_dsn, name)
    finally:
        await close_pools()
        async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            await conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
async def dsn(admin_dsn: str) -> AsyncIterator[str]:
    """The DSN of an ordinary (unprivileged) role that may use `orders`."""
    async with role(admin_dsn) as url:
        yield url


async def test_select_binds_values_and_converts_rows(engine: Client, dsn: str) -> None:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    data = {
        "integration_id": integration,
        "query": "SELECT id, total, placed, tags FROM orders WHERE customer = %(who)s ORDER BY id",
        "params": {"who": "${source.output}"},
        "max_rows": 3,
    }
    state, _ = await run(engine, one_node("database", data, upstream="c1"))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    result = state.outputs["result"]
    assert result["columns"] == ["id", "total", "placed", "tags"]
    assert result["rows"][0] == {"id": 1, "total": 1.5, "placed": "2030-01-02", "tags": {"n": 1}}
    assert [r["id"] for r in result["rows"]] == [1, 4, 7]
    assert result["truncated"] is True and result["row_count"] == 3


async def test_injection_attempt_is_just_a_value(engine: Client, dsn: str) -> None:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    evil = "c1'; DROP TABLE orders; --"
    data = {
        "integration_id": integration,
        "query": "SELECT count(*) AS n FROM orders WHERE customer = %s",
        "params": [evil],
        "read_only": False,
    }
    state, _ = await run(engine, one_node("database", data))
    assert state.outputs["result"]["rows"] == [{"n": 0}]
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        assert (await (await conn.execute("SELECT count(*) FROM orders")).fetchone()) == (20,)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM orders",
        "COMMIT; DELETE FROM orders",
        "SET default_transaction_read_only = off; DELETE FROM orders",
    ],
)
async def test_read_only_mode_refuses_writes(engine: Client, dsn: str, query: str) -> None:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    state, _ = await run(
        engine, one_node("database", {"integration_id": integration, "query": query})
    )
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "sql"
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        assert (await (await conn.execute("SELECT count(*) FROM orders")).fetchone()) == (20,)


async def test_write_mode_updates_and_reports_the_row_count(engine: Client, dsn: str) -> None:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    data = {
        "integration_id": integration,
        "query": "UPDATE orders SET customer = %s WHERE id <= %s",
        "params": ["vip", 5],
        "read_only": False,
    }
    state, _ = await run(engine, one_node("database", data))
    assert state.outputs["result"] == {
        "rows": [],
        "columns": [],
        "row_count": 5,
        "truncated": False,
    }


async def test_a_session_setting_does_not_outlive_its_node(engine: Client, dsn: str) -> None:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    node = {"integration_id": integration}
    definition = {
        "nodes": {
            "unset": {
                "id": "unset",
                "type": "database",
                "data": {**node, "query": "SET SESSION default_transaction_read_only = off"},
            },
            "write": {
                "id": "write",
                "type": "database",
                "data": {**node, "query": "DELETE FROM orders"},
            },
        },
        "edges": [{"id": "e1", "source": "unset", "target": "write"}],
    }
    state, _ = await run(engine, definition)
    assert state.nodes["unset"].status.value == "completed"
    assert state.status is ExecutionStatus.FAILED and state.failed_node == "write"


async def _fails(engine: Client, dsn: str, **node: Any) -> Any:
    integration = await register_integration(engine, "postgres", {"dsn": dsn})
    data = {"integration_id": integration, "query": "SELECT 1", "retry": {"max_attempts": 1}}
    state, _ = await run(engine, one_node("database", {**data, **node}))
    assert state.status is ExecutionStatus.FAILED and state.error is not None
    return state.error


async def test_a_superuser_session_is_refused(engine: Client, admin_dsn: str) -> None:
    pools = pool_count()
    error = await _fails(engine, admin_dsn, query="COPY (SELECT 1) TO PROGRAM 'id'")
    assert error.kind == ROLE_KIND and error.terminal
    assert "superuser" in error.message
    assert pool_count() == pools


@pytest.mark.parametrize(
    "granted", ["pg_read_server_files", "pg_write_server_files", "pg_execute_server_program"]
)
async def test_a_role_that_reaches_server_files_or_programs_is_refused(
    engine: Client, admin_dsn: str, granted: str
) -> None:
    async with role(admin_dsn, granted) as url:
        error = await _fails(engine, url)
    assert error.kind == ROLE_KIND and granted in error.message


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql:///postgres?host=/var/run/postgresql&user=postgres",
        "host=/tmp user=postgres dbname=postgres",
        "host=@abstract user=postgres",
        "user=postgres dbname=postgres",
        "host=127.0.0.1 hostaddr=127.0.0.1 user=postgres",
        "host=127.0.0.1,10.0.0.1 user=postgres",
        "host=127.0.0.1 user=postgres passfile=/etc/passwd",
        "host=127.0.0.1 user=postgres sslkey=/etc/ssl/private/key.pem",
        "host=127.0.0.1 user=postgres options='-c log_statement=all'",
    ],
)
async def test_sockets_and_settings_outside_the_allow_list_are_refused(
    engine: Client, bad: str
) -> None:
    error = await _fails(engine, bad)
    assert error.kind in ("egress", "database") and error.terminal, error


async def test_a_target_that_fails_leaves_no_pool_behind(engine: Client) -> None:
    pools = pool_count()
    closed = f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    error = await _fails(engine, closed)
    assert error.kind == "database" and not error.terminal
    assert pool_count() == pools
