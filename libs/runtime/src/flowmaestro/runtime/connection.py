"""Connecting to NATS with the options every FlowMaestro service wants."""

from __future__ import annotations

import asyncio

import nats.errors
import structlog
from nats.aio.client import Client

from flowmaestro.runtime.errors import NatsUnreachableError
from flowmaestro.runtime.hotpath import HotPath, NatsPyHotPath, hot_path_client
from flowmaestro.runtime.natsauth import NatsCredentials, env_credentials, inbox_prefix
from flowmaestro.runtime.natstls import NatsSecurity, server_list
from flowmaestro.runtime.wire import Wire

__all__ = ["Connection", "NatsUnreachableError", "connect", "wire_of"]

log = structlog.get_logger("flowmaestro.nats")


class Connection(Client):
    """A nats-py client that also opens, on first use, the lean `Wire` for the hot path
    (appends, commands, acknowledgements) to the same server; closing closes both.
    With `FLOWMAESTRO_HOT_PATH_CLIENT=nats-py` the hot path runs over this client itself."""

    def __init__(
        self, url: str, name: str, persistent: bool, credentials: NatsCredentials | None
    ) -> None:
        super().__init__()
        self._wire_args = (url, name, persistent)
        self._credentials = credentials
        self._security = NatsSecurity.from_env(url)
        self._wire: HotPath | None = None
        self._wire_lock = asyncio.Lock()
        self._natspy_hot_path: NatsPyHotPath | None = None

    async def reconnected(self) -> None:
        """nats-py's reconnection callback: tell the hot path over this client, if any."""
        if self._natspy_hot_path is not None:
            self._natspy_hot_path.reconnected()

    @property
    def hot_path_connected(self) -> bool:
        """Whether the hot-path connection is up (True while it is not opened yet)."""
        return self._wire is None or self._wire.connected

    async def wire(self) -> HotPath:
        """The hot-path connection, opened on first use."""
        if self._wire is None:
            async with self._wire_lock:
                if self._wire is None and hot_path_client() == "nats-py":
                    self._natspy_hot_path = NatsPyHotPath(self)
                    self._wire = self._natspy_hot_path
                if self._wire is None:
                    url, name, persistent = self._wire_args
                    user, password = self._credentials or (None, None)
                    wire = Wire(
                        url,
                        f"{name}-wire",
                        persistent,
                        user=user,
                        password=password,
                        inbox_prefix=inbox_prefix(user),
                        **self._security.wire_options(),
                    )
                    try:
                        await wire.connect()
                    except (OSError, TimeoutError) as exc:
                        raise NatsUnreachableError(f"cannot reach NATS at {url}: {exc}") from exc
                    self._wire = wire
        return self._wire

    async def close(self) -> None:
        if self._wire is not None:
            await self._wire.close()
        await super().close()


async def wire_of(nc: Client) -> HotPath:
    """The lean connection belonging to `nc` (which must come from `connect`)."""
    if not isinstance(nc, Connection):
        raise TypeError("the hot path needs a connection made by flowmaestro.runtime.connection")
    return await nc.wire()


async def connect(
    url: str,
    name: str = "flowmaestro",
    persistent: bool = True,
    credentials: NatsCredentials | None = None,
) -> Connection:
    """Connect; a `persistent` client (a service) keeps reconnecting forever, so a NATS
    restart is ridden out, while a short-lived one (a CLI command) gives up quickly with
    `NatsUnreachableError`. `url` may list several servers separated by commas; TLS and
    nkey or credentials-file authentication come from the environment (see `natstls`);
    `credentials` (user, password) default to `FLOWMAESTRO_NATS_USER` /
    `FLOWMAESTRO_NATS_PASSWORD`."""
    credentials = credentials or env_credentials()
    user, password = credentials or (None, None)

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", client=name, error=repr(exc))

    async def on_disconnected() -> None:
        log.debug("nats.disconnected", client=name)

    nc = Connection(url, name, persistent, credentials)
    try:
        await nc.connect(
            server_list(url),
            name=name,
            user=user,
            password=password,
            inbox_prefix=inbox_prefix(user),
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=nc.reconnected,
            max_reconnect_attempts=-1 if persistent else 1,
            reconnect_time_wait=0.25,  # pyright: ignore[reportArgumentType] - seconds, float is fine
            connect_timeout=5 if persistent else 2,
            pending_size=64 * 1024 * 1024,
            **nc._security.natspy_options(),  # pyright: ignore[reportPrivateUsage]
        )
    except (OSError, nats.errors.NoServersError, TimeoutError, nats.errors.Error) as exc:
        raise NatsUnreachableError(f"cannot reach NATS at {url}: {exc}") from exc
    return nc
