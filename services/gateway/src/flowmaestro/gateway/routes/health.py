"""`/health` (the process is alive) and `/ready` (NATS and PostgreSQL reachable)."""

from __future__ import annotations

from litestar import get

from flowmaestro.gateway.deps import ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import NotReadyError
from flowmaestro.gateway.models import Envelope, Health, Readiness
from flowmaestro.gateway.openapi import errors

__all__ = ["health", "ready"]


@get("/health", tags=["health"])
async def health() -> Envelope[Health]:
    """The process is alive."""
    return ok(Health(status="ok"))


@get("/ready", tags=["health"], responses=errors(503))
async def ready(services: ServicesDep) -> Envelope[Readiness]:
    """200 when NATS and PostgreSQL are reachable, else 503 naming what is not."""
    checks = {
        "nats": services.nc.is_connected,
        "database": await services.db.ping(),
    }
    if not all(checks.values()):
        raise NotReadyError("not ready", checks)
    return ok(Readiness(status="ready", checks=checks))
