"""PostgreSQL for the `database` node: queries over the egress policy's pools.

The integration holds `credentials.dsn`, or `config` host/port/dbname/user with
`credentials.password`. Connections come only from `egress.postgres`: TCP to a checked
address, never a Unix socket or the platform's own database, never a privileged role.

Read-only mode is enforced three ways: the pool's sessions default to read-only
transactions, each statement runs in a `READ ONLY` transaction, and statements are always
sent with the extended protocol (prepared), which refuses several commands in one string,
so `COMMIT; ...` tricks cannot leave the transaction. Every session setting a statement
may change is reset when its connection goes back to the pool.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from flowmaestro.events.catalogue import DatabaseConfig
from flowmaestro.executors.context import Integration
from flowmaestro.executors.egress.postgres import (
    Pool,
    PoolTimeout,
    close_pools,
    database_pool,
    discard_pool,
)
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError

__all__ = ["close_pools", "json_value", "query"]


def json_value(value: Any) -> Any:
    """A database value as JSON: numbers, text, ISO dates, lists and objects."""
    match value:
        case None | bool() | int() | float() | str():
            return value
        case Decimal():
            return int(value) if value == value.to_integral_value() else float(value)
        case dt.datetime() | dt.date() | dt.time():
            return value.isoformat()
        case dt.timedelta():
            return value.total_seconds()
        case uuid.UUID():
            return str(value)
        case bytes() | bytearray() | memoryview():
            return base64.b64encode(bytes(value)).decode()
        case dict():
            return {str(k): json_value(v) for k, v in value.items()}
        case list() | tuple():
            return [json_value(v) for v in value]
        case _:
            return str(value)


def _conninfo(integration: Integration) -> str:
    credentials = integration.credentials
    if credentials.get("dsn"):
        return str(credentials["dsn"])
    fields = {k: integration.config.get(k) for k in ("host", "port", "dbname", "user", "sslmode")}
    if credentials.get("password"):
        fields["password"] = credentials["password"]
    return make_conninfo(**{k: str(v) for k, v in fields.items() if v is not None})


async def _execute(pool: Pool, config: DatabaseConfig) -> dict[str, Any]:
    async with pool.connection() as conn, conn.transaction():
        if config.read_only:
            await conn.execute("SET TRANSACTION READ ONLY")
        await conn.execute(
            sql.SQL("SELECT set_config('statement_timeout', {}, true)").format(
                sql.Literal(str(config.statement_timeout_ms))
            )
        )
        async with conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(config.query.encode(), config.params or None, prepare=True)
            if cursor.description is None:
                return {"rows": [], "columns": [], "row_count": cursor.rowcount, "truncated": False}
            columns = [column.name for column in cursor.description]
            rows = await cursor.fetchmany(config.max_rows + 1)
    truncated = len(rows) > config.max_rows
    rows = rows[: config.max_rows]
    return {
        "rows": [{k: json_value(v) for k, v in row.items()} for row in rows],
        "columns": columns,
        "row_count": len(rows),
        "truncated": truncated,
    }


async def query(integration: Integration, config: DatabaseConfig) -> dict[str, Any]:
    """Run the statement with its bound parameters; rows as JSON objects."""
    conninfo = _conninfo(integration)
    try:
        pool = await database_pool(conninfo, config.read_only)
        return await _execute(pool, config)
    except psycopg.errors.QueryCanceled as exc:
        raise TerminalNodeError(f"query cancelled: {exc}", kind="timeout") from exc
    except psycopg.errors.SerializationFailure as exc:
        raise RetryableNodeError(f"serialization failure: {exc}", kind="database") from exc
    except (PoolTimeout, psycopg.OperationalError) as exc:
        # A target that fails keeps no pool reconnecting in the background.
        await discard_pool(conninfo, config.read_only)
        raise RetryableNodeError(f"database unavailable: {exc}", kind="database") from exc
    except psycopg.Error as exc:
        raise TerminalNodeError(f"{type(exc).__name__}: {exc}", kind="sql") from exc
