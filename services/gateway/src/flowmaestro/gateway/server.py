"""Serving the gateway with uvicorn (HTTP, SSE and WebSocket)."""

from __future__ import annotations

import uvicorn

from flowmaestro.gateway.app import create_app
from flowmaestro.gateway.config import GatewaySettings

__all__ = ["serve", "uvicorn_server"]


def uvicorn_server(settings: GatewaySettings, run_projector: bool = True) -> uvicorn.Server:
    """A configured (not started) uvicorn server for the gateway."""
    config = uvicorn.Config(
        create_app(settings, run_projector),
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        lifespan="on",
        log_level="warning",
        log_config=None,
        # X-Forwarded-For is read by the gateway itself, from FLOWMAESTRO_TRUSTED_PROXIES
        # only (uvicorn would trust it from any loopback peer)
        proxy_headers=False,  # uvicorn's records go through our (redacting) logging setup
        timeout_graceful_shutdown=3,
    )
    return uvicorn.Server(config)


async def serve(settings: GatewaySettings) -> None:
    """Run the gateway until it is told to stop (SIGINT/SIGTERM)."""
    await uvicorn_server(settings).serve()
