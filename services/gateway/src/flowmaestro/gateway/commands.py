"""What the `flowmaestro` command does for the gateway: serve, migrate, rebuild the
projection, and create the development user."""

from __future__ import annotations

from flowmaestro.gateway.config import DEV_USER_EMAIL, DEV_USER_PASSWORD, GatewaySettings
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.migrate import migrate
from flowmaestro.gateway.projector import Projector
from flowmaestro.gateway.security import hash_password
from flowmaestro.gateway.server import serve
from flowmaestro.gateway.store.users import UserStore
from flowmaestro.runtime import connect

__all__ = ["ensure_dev_user", "migrate_database", "rebuild_projection", "run_gateway"]


async def run_gateway(settings: GatewaySettings) -> None:
    """Serve the API (and run the projector) until SIGINT/SIGTERM."""
    settings.check()
    await serve(settings)


async def migrate_database(database_url: str) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    db = Database(database_url, timeout_s=30.0)
    await db.open()
    try:
        return await migrate(db)
    finally:
        await db.close()


async def rebuild_projection(settings: GatewaySettings) -> int:
    """Drop and recompute executions and logs from the event log; returns executions."""
    nc = await connect(settings.nats_url, name="flowmaestro-projector-rebuild")
    db = Database(settings.database_url, timeout_s=30.0)
    await db.open()
    try:
        await migrate(db)
        return await Projector(nc, db, settings.projector_name).rebuild()
    finally:
        await db.close()
        await nc.close()


async def ensure_dev_user(database_url: str) -> bool:
    """Create the development user when missing; returns True when it was created."""
    db = Database(database_url, timeout_s=30.0)
    await db.open()
    try:
        users = UserStore(db)
        if await users.by_email(DEV_USER_EMAIL) is not None:
            return False
        await users.create(DEV_USER_EMAIL, "Test User", await hash_password(DEV_USER_PASSWORD))
        return True
    finally:
        await db.close()
