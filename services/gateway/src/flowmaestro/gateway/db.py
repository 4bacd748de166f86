"""PostgreSQL access with short timeouts: an outage becomes `DatabaseUnavailableError`.

The pool connects lazily, so the gateway starts (and serves what needs no database) while
PostgreSQL is down, and reconnects by itself when it returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import asyncpg
import msgspec

from flowmaestro.gateway.errors import DatabaseUnavailableError, ValidationFailedError

__all__ = ["Connection", "Database", "storable", "unavailable_errors"]

Connection: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy"
"""What `Database.connection()` yields."""

unavailable_errors: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.CannotConnectNowError,
)
"""Errors that mean "PostgreSQL is not reachable right now", not "the query is wrong"."""

_unstorable_values = (
    asyncpg.DataError,  # SQLSTATE class 22: out of range, bad text
    asyncpg.exceptions._base.DataError,  # a bad query argument, caught before it is sent
    asyncpg.exceptions.UntranslatableCharacterError,
    asyncpg.exceptions.CharacterNotInRepertoireError,
)


def storable(value: Any) -> Any:
    """`value` with NUL characters (which PostgreSQL text cannot hold) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _encode_json(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    # Only strings holding NUL (encoded as the escape below) need the slower walk.
    return msgspec.json.encode(storable(value)).decode() if "\\u0000" in text else text


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Every text and JSON value stored loses its NUL characters, so any JSON a client may
    # send (NUL is valid JSON) is stored rather than refused; arrays of text are cleaned
    # by their callers (asyncpg encodes their elements with its own codec).
    await conn.set_type_codec(
        "text",
        encoder=lambda value: value.replace("\x00", "\ufffd"),
        decoder=lambda value: value,
        schema="pg_catalog",
        format="text",
    )
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog"
        )


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Make a released connection ready for its next user. The gateway changes no session
    state (no `SET`, `LISTEN`, session advisory lock or open cursor), so asyncpg's default
    reset, a round trip on every release, is only needed for an abandoned transaction."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Database:
    """A lazily connecting pool; every use is bounded by `timeout_s`."""

    def __init__(self, url: str, timeout_s: float = 3.0, max_size: int = 10) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Create the pool (no connection is made yet)."""
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=0,
            max_size=self.max_size,
            timeout=self.timeout_s,
            command_timeout=self.timeout_s,
            init=_init_connection,
            reset=_reset_connection,
            max_inactive_connection_lifetime=60.0,
        )

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; outages inside the block raise `DatabaseUnavailableError`."""
        if self._pool is None:
            raise DatabaseUnavailableError("the database pool is not open")
        try:
            async with self._pool.acquire(timeout=self.timeout_s) as conn:
                yield conn
        except _unstorable_values as exc:
            raise ValidationFailedError(
                "a value cannot be stored (out of range, NUL character or invalid Unicode)",
                [{"field": None, "code": "unstorable", "message": str(exc)}],
            ) from exc
        except unavailable_errors as exc:
            raise DatabaseUnavailableError(
                "the database is unavailable; try again shortly"
            ) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction, committed when the block ends."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of one query."""
        async with self.connection() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """The first row of one query, or None."""
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        """The first value of the first row."""
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        """Run one statement; returns its status line."""
        async with self.connection() as conn:
            return await conn.execute(query, *args)

    async def ping(self) -> bool:
        """True when PostgreSQL answers `SELECT 1`."""
        try:
            return await self.fetchval("SELECT 1") == 1
        except DatabaseUnavailableError:
            return False
