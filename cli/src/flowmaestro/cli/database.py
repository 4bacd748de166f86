"""The platform's own PostgreSQL for `flowmaestro up`: embedded, with an application role.

The embedded server's `postgres` role is a superuser (it can read server files and run
programs). The gateway and its projector never use it: `up` creates the role
`flowmaestro` (login; no superuser, database or role creation, replication or RLS bypass;
no membership in `pg_read_server_files`, `pg_write_server_files` or
`pg_execute_server_program`), which owns the database `flowmaestro`, and hands the services
that role's URL. Its password is kept in `<state>/postgres-credentials.json` (mode 0600).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from flowmaestro.cli.processes import stop_postgres
from flowmaestro.runtime.natsauth import write_private

__all__ = ["APP_DATABASE", "APP_ROLE", "AppDatabase", "start_database", "start_database_in_child"]

APP_ROLE = "flowmaestro"
APP_DATABASE = "flowmaestro"


@dataclass(frozen=True, slots=True)
class AppDatabase:
    """The URL the services use, and the embedded server's data folder (None: external)."""

    url: str
    data_dir: Path | None = None
    server: Any = None

    def stop(self) -> None:
        """Stop the embedded server (whoever started it: a killed `up` may have)."""
        if self.data_dir is not None:
            stop_postgres(self.data_dir)


def _password(home: Path) -> str:
    path = home / "postgres-credentials.json"
    try:
        return json.loads(path.read_text())[APP_ROLE]
    except (OSError, ValueError, KeyError, TypeError):
        password = secrets.token_urlsafe(24)
        write_private(path, json.dumps({APP_ROLE: password}))
        return password


def _setup_sql(password: str) -> str:
    # CREATE DATABASE cannot run inside DO; psql's \gexec runs it only when missing.
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} {attributes} PASSWORD '{password}';
  ELSE
    ALTER ROLE {APP_ROLE} {attributes} PASSWORD '{password}';
  END IF;
END $$;
SELECT 'CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{APP_DATABASE}')\\gexec
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
"""


def start_database(home: Path) -> AppDatabase:
    """`FLOWMAESTRO_DATABASE_URL` as given, or the embedded server with the app role."""
    if url := os.environ.get("FLOWMAESTRO_DATABASE_URL"):
        return AppDatabase(url)
    from pgserver.postgres_server import get_server

    data_dir = home / "postgres"
    server = get_server(data_dir, cleanup_mode=None)  # `AppDatabase.stop` stops it
    password = _password(home)  # token_urlsafe: safe inside the SQL literal
    server.psql(_setup_sql(password))
    host = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    url = (
        f"postgresql://{APP_ROLE}:{quote(password, safe='')}@/{APP_DATABASE}"
        f"?host={quote(host, safe='/')}"
    )
    return AppDatabase(url, data_dir, server)


def start_database_in_child(home: Path) -> AppDatabase:
    """`start_database` in a child process, so the `up` supervisor, which runs as long as
    the stack, never loads pgserver (the server it starts outlives the child)."""
    if url := os.environ.get("FLOWMAESTRO_DATABASE_URL"):
        return AppDatabase(url)
    done = subprocess.run(
        [sys.executable, "-m", "flowmaestro.cli.database", str(home)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return AppDatabase(done.stdout.strip().splitlines()[-1], home / "postgres")


if __name__ == "__main__":
    print(start_database(Path(sys.argv[1])).url, flush=True)
