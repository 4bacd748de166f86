"""PostgreSQL for the `database` node: connections that pass the egress policy and refuse
privileged roles, in a bounded set of pools.

Only TCP to a checked address is used (`hostaddr` pins it; `host` still names the server
for TLS). Connection settings come from an allow-list of keys, and everything libpq would
otherwise take from the executor's environment or home folder (a password file, client
certificates, Kerberos tickets, `PGPASSWORD`, `PGOPTIONS`) is switched off, so no credential of the
platform follows a tenant's target. After connecting, a session that is a superuser — or
may become one, create roles, or read server files or run programs — is closed and refused.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from flowmaestro.executors.egress.policy import EGRESS_KIND, resolve
from flowmaestro.executors.errors import TerminalNodeError

__all__ = [
    "DANGEROUS_ROLES",
    "ROLE_KIND",
    "Pool",
    "PoolTimeout",
    "close_pools",
    "connect",
    "database_pool",
    "discard_pool",
    "pool_count",
    "safe_conninfo",
]

ROLE_KIND = "database_role"
"""The error kind of a refused (privileged) database role."""

DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_ALLOWED_KEYS = frozenset(
    {"host", "port", "dbname", "user", "password", "sslmode", "connect_timeout", "application_name"}
)
_MAX_CONNECT_TIMEOUT_S = 10
_MAX_POOLS = 32
_PRIVILEGES = """
SELECT
  EXISTS (SELECT 1 FROM pg_roles r
          WHERE (r.rolsuper OR r.rolcreaterole) AND pg_has_role(session_user, r.oid, 'MEMBER'))
    AS privileged,
  ARRAY(SELECT r.rolname::text FROM pg_roles r
        WHERE r.rolname = ANY(%s) AND pg_has_role(session_user, r.oid, 'MEMBER'))
    AS reaches
"""

Pool = AsyncConnectionPool[Any]


def _refuse(message: str) -> TerminalNodeError:
    return TerminalNodeError(message, kind=EGRESS_KIND)


async def safe_conninfo(conninfo: str) -> str:
    """The connection string to use for `conninfo`: checked keys, the resolved and checked
    address pinned, and libpq's ambient credentials switched off."""
    try:
        given = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except psycopg.ProgrammingError as exc:
        raise TerminalNodeError(f"the database DSN is not valid: {exc}", kind="database") from exc
    unknown = sorted(set(given) - _ALLOWED_KEYS)
    if unknown:
        raise _refuse(
            f"the database DSN may only set {', '.join(sorted(_ALLOWED_KEYS))}; "
            f"not {', '.join(unknown)}"
        )
    host = given.get("host", "")
    if not host or host.startswith(("/", "@")):
        raise _refuse(
            "the database DSN must name a TCP host: Unix sockets (and an empty host, which "
            "means one) are not reachable from nodes"
        )
    if "," in host or "," in given.get("port", ""):
        raise _refuse("the database DSN must name exactly one host and port")
    if not given.get("user"):
        raise TerminalNodeError("the database DSN must name a user", kind="database")
    try:
        port = int(given.get("port") or 5432)
        timeout = int(given.get("connect_timeout") or _MAX_CONNECT_TIMEOUT_S)
    except ValueError as exc:
        raise TerminalNodeError(
            f"the database DSN has a bad number: {exc}", kind="database"
        ) from exc
    address = await resolve(host, port)
    settings = {
        **given,
        "hostaddr": address,
        "port": str(port),
        "password": given.get("password", ""),
        "connect_timeout": str(max(1, min(timeout, _MAX_CONNECT_TIMEOUT_S))),
        "options": "",
        "passfile": os.devnull,
        "sslcertmode": "disable",
        "gssencmode": "disable",
        "require_auth": "!gss,!sspi",
        "target_session_attrs": "any",
    }
    return make_conninfo(**settings)


async def _refuse_privileged(conn: psycopg.AsyncConnection[Any]) -> None:
    """Close `conn` and refuse it when its role is, or can become, too powerful."""
    async with conn.cursor() as cursor:
        await cursor.execute(_PRIVILEGES, (list(DANGEROUS_ROLES),))
        row = await cursor.fetchone()
    await conn.rollback()
    privileged, reaches = (bool(row[0]), list(row[1])) if row else (True, [])
    if privileged or reaches:
        user = conn.info.user
        await conn.close()
        why = (
            "is (or can become) a superuser or create roles"
            if privileged
            else (f"is a member of {', '.join(reaches)}")
        )
        raise TerminalNodeError(
            f"refusing the database role {user!r}: it {why}; give the integration a role "
            "without these privileges",
            kind=ROLE_KIND,
        )


class GuardedConnection(psycopg.AsyncConnection[Any]):
    """A connection made only through `safe_conninfo` and the role check."""

    @classmethod
    async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:  # type: ignore[override]
        """Connect to the checked address; refuse a privileged role."""
        conn = await super().connect(await safe_conninfo(conninfo), **kwargs)
        await _refuse_privileged(conn)
        return conn


async def connect(conninfo: str, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
    """One checked connection (the caller closes it)."""
    return await GuardedConnection.connect(conninfo, **kwargs)


_pools: OrderedDict[tuple[str, bool], Pool] = OrderedDict()


async def _reset(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute("RESET ALL")


async def database_pool(conninfo: str, read_only: bool) -> Pool:
    """The pool for (`conninfo`, `read_only`); a new target is first connected to once, so
    a refusal or failure is reported at once and leaves no pool behind. At most
    `_MAX_POOLS` pools stay open; the least recently used is closed first."""
    key = (conninfo, read_only)
    pool = _pools.get(key)
    if pool is not None:
        _pools.move_to_end(key)
        return pool
    kwargs: dict[str, Any] = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    probe = await connect(conninfo, **kwargs)
    await probe.close()
    pool = AsyncConnectionPool(
        conninfo,
        connection_class=GuardedConnection,
        kwargs=kwargs,
        min_size=0,
        max_size=8,
        max_idle=60,
        open=False,
        reset=_reset,
        timeout=10,
        reconnect_timeout=30,
    )
    await pool.open()
    _pools[key] = pool
    while len(_pools) > _MAX_POOLS:
        _, oldest = _pools.popitem(last=False)
        await oldest.close()
    return pool


def pool_count() -> int:
    """How many pools are open."""
    return len(_pools)


async def discard_pool(conninfo: str, read_only: bool) -> None:
    """Close and forget the pool of a target that failed."""
    pool = _pools.pop((conninfo, read_only), None)
    if pool is not None:
        await pool.close()


async def close_pools() -> None:
    """Close every pool (when the executor stops, or a test drops its database)."""
    pools = list(_pools.values())
    _pools.clear()
    for pool in pools:
        await pool.close()
