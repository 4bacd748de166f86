"""Connecting to NATS with the options every FlowMaestro service wants."""

from __future__ import annotations

import nats
import structlog
from nats.aio.client import Client

__all__ = ["connect"]

log = structlog.get_logger("flowmaestro.nats")


async def connect(url: str, name: str = "flowmaestro") -> Client:
    """Connect and keep reconnecting forever, so a NATS restart is ridden out."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", client=name, error=repr(exc))

    async def on_disconnected() -> None:
        log.debug("nats.disconnected", client=name)

    return await nats.connect(
        url,
        name=name,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        connect_timeout=5,
        pending_size=64 * 1024 * 1024,
    )
