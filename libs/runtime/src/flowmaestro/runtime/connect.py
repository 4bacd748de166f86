"""Connecting to NATS with the options every FlowMaestro service wants."""

from __future__ import annotations

import nats
import nats.errors
import structlog
from nats.aio.client import Client

from flowmaestro.runtime.errors import RuntimeLayerError

__all__ = ["NatsUnreachableError", "connect"]

log = structlog.get_logger("flowmaestro.nats")


class NatsUnreachableError(RuntimeLayerError):
    """No NATS server answered at the URL."""


async def connect(url: str, name: str = "flowmaestro", persistent: bool = True) -> Client:
    """Connect; a `persistent` client (a service) keeps reconnecting forever, so a NATS
    restart is ridden out, while a short-lived one (a CLI command) gives up quickly with
    `NatsUnreachableError`."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", client=name, error=repr(exc))

    async def on_disconnected() -> None:
        log.debug("nats.disconnected", client=name)

    try:
        return await nats.connect(
            url,
            name=name,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            max_reconnect_attempts=-1 if persistent else 1,
            reconnect_time_wait=0.25,
            connect_timeout=5 if persistent else 2,
            pending_size=64 * 1024 * 1024,
        )
    except (OSError, nats.errors.NoServersError, TimeoutError) as exc:
        raise NatsUnreachableError(f"cannot reach NATS at {url}: {exc}") from exc
