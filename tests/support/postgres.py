"""PostgreSQL for tests: a fresh, uniquely named database on the server the environment
names, and a private throw-away server that a test may stop and start."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The admin URL of the test PostgreSQL server."""
    return os.environ.get("FLOWMAESTRO_TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str | None = None) -> AsyncIterator[str]:
    """Create a uniquely named database, yield its URL, and drop it afterwards."""
    admin_url = admin_url or server_url()
    name = f"fm_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield with_database(admin_url, name)
    finally:
        conn = await asyncpg.connect(admin_url, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


class PrivatePostgres:
    """A PostgreSQL of our own (pgserver wheel), on a Unix socket in a temp folder."""

    def __init__(self, folder: Path) -> None:
        from pgserver.postgres_server import get_server

        self._server = get_server(folder, cleanup_mode="delete")

    @property
    def url(self) -> str:
        """The server's admin URL."""
        return self._server.get_uri()

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are cut)."""
        from pgserver import _commands

        pg_ctl = _commands.__dict__["pg_ctl"]  # made at import time, one per binary
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user
        )

    def start(self) -> None:
        """Start it again on the same socket and data."""
        with self._server._lock:
            self._server.ensure_postgres_running()

    def cleanup(self) -> None:
        """Stop it and delete its data."""
        self._server.cleanup()


@contextlib.contextmanager
def private_postgres(folder: Path) -> Iterator[PrivatePostgres]:
    """A private PostgreSQL for the block."""
    server = PrivatePostgres(folder)
    try:
        yield server
    finally:
        server.cleanup()
