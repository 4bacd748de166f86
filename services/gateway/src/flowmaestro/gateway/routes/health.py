"""`/health` (the process is alive) and `/ready` (NATS and PostgreSQL reachable)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from flowmaestro.gateway.deps import ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.models import Envelope

__all__ = ["health", "ready"]


@get("/health", tags=["health"])
async def health() -> Envelope[dict[str, str]]:
    """The process is alive."""
    return ok({"status": "ok"})


@get("/ready", tags=["health"])
async def ready(services: ServicesDep) -> Response[dict[str, Any]]:
    """200 when NATS and PostgreSQL are reachable, else 503 naming what is not."""
    checks = {
        "nats": services.nc.is_connected,
        "database": await services.db.ping(),
    }
    if all(checks.values()):
        return Response({"success": True, "data": {"status": "ready", "checks": checks}})
    return Response(
        {
            "success": False,
            "error": {"message": "not ready", "code": "NOT_READY", "details": checks},
        },
        status_code=503,
    )
