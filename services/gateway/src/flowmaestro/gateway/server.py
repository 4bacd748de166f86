"""Serving the gateway with uvicorn (HTTP, SSE and WebSocket)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anyio
import uvicorn

from flowmaestro.gateway.app import create_app
from flowmaestro.gateway.config import GatewaySettings
from flowmaestro.runtime.service import stop_on_signals


class _Server(uvicorn.Server):
    """uvicorn, stopped by the service's own signal handling: after a graceful shutdown
    the process ends with code 0 (uvicorn's own handling re-raises the signal, ending
    every clean stop as if killed)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
    return _Server(config)


async def serve(settings: GatewaySettings) -> None:
    """Run the gateway until it is told to stop (SIGINT/SIGTERM)."""
    server = uvicorn_server(settings)
    stop = stop_on_signals()

    async def stop_serving() -> None:
        await stop.wait()
        server.should_exit = True

    async with anyio.create_task_group() as group:
        group.start_soon(stop_serving)
        await server.serve()
        group.cancel_scope.cancel()
