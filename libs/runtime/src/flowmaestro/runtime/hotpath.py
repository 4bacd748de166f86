"""The hot-path connection's interface, and the same interface over nats-py.

The hot path (appends, commands, acknowledgements, pull requests) runs over `Wire` by
default. `FLOWMAESTRO_HOT_PATH_CLIENT=nats-py` runs it over the nats-py client instead,
so the two can be measured against each other in the same benchmark (`bench/run.py
--client`). The nats-py variant is written to be as fast as nats-py allows: its
coroutines are driven to completion in place (they only suspend when its buffer is full),
so no task is created per publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import nats.js.api
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from flowmaestro.runtime.errors import PayloadTooLargeError
from flowmaestro.runtime.wire import WireMsg

__all__ = ["HOT_PATH_CLIENT_ENV", "HotPath", "NatsPyHotPath", "hot_path_client"]

HOT_PATH_CLIENT_ENV = "FLOWMAESTRO_HOT_PATH_CLIENT"
"""Which client carries the hot path: `wire` (the default) or `nats-py`."""

_CLIENTS = ("wire", "nats-py")
_STATUS = nats.js.api.Header.STATUS.value
_DESCRIPTION = nats.js.api.Header.DESCRIPTION.value


def hot_path_client() -> str:
    """The client named by `FLOWMAESTRO_HOT_PATH_CLIENT` (`wire` unless set)."""
    value = os.environ.get(HOT_PATH_CLIENT_ENV, "wire").strip() or "wire"
    if value not in _CLIENTS:
        raise ValueError(f"{HOT_PATH_CLIENT_ENV} must be one of {', '.join(_CLIENTS)}: {value!r}")
    return value


class HotPath(Protocol):
    """What the hot path asks of a connection."""

    @property
    def max_payload(self) -> int:
        """The largest message the connected server accepts."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the connection is up now."""
        ...

    def new_inbox(self) -> str:
        """A fresh reply subject of this connection."""
        ...

    def subscribe(self, subject: str, handler: Callable[[WireMsg], None]) -> int:
        """Call `handler` for every message on `subject`; returns the subscription id."""
        ...

    def unsubscribe(self, sid: int) -> None:
        """End a subscription made by `subscribe`."""
        ...

    def publish(
        self,
        subject: str,
        payload: bytes,
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a message (queued; written soon)."""
        ...

    def on_reconnect(self, callback: Callable[[], None], remove: bool = False) -> None:
        """Call `callback` after each reconnection (`remove=True` stops it)."""
        ...

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until the server has seen everything sent so far."""
        ...

    async def close(self) -> None:
        """Close this connection."""
        ...


def _run_now(coro: Coroutine[Any, Any, Any]) -> object:
    """Run `coro` in place; if it has to wait, a task finishes it. Returns its result, or
    `_PENDING` when it did not finish at once."""
    try:
        waiting = coro.send(None)
    except StopIteration as done:
        return done.value
    task = asyncio.ensure_future(_finish(coro, waiting))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return _PENDING


_PENDING = object()
_background: set[asyncio.Future[None]] = set()


async def _finish(coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
    """Carry on a coroutine that `_run_now` started and that suspended on `waiting`."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                await waiting
        except BaseException as exc:  # handed back to the coroutine, as a task would
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting = coro.send(None)
        except StopIteration:
            return


class _NatsPyMsg(WireMsg):
    """A nats-py message seen as a `WireMsg` (headers already parsed by nats-py)."""

    __slots__ = ("_parsed",)

    def __init__(self, hot_path: NatsPyHotPath, msg: Msg) -> None:
        super().__init__(hot_path, msg.subject, msg.reply, None, msg.data)
        self._parsed = msg.headers or {}

    @property
    def status(self) -> str | None:
        """The status code of a status message, else None."""
        return self._parsed.get(_STATUS)

    @property
    def headers(self) -> dict[str, str]:
        """The message's headers, without nats-py's status entries."""
        return {k: v for k, v in self._parsed.items() if k not in (_STATUS, _DESCRIPTION)}


class NatsPyHotPath:
    """The hot path over a connected nats-py client (which keeps owning the connection)."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._subs: dict[int, Subscription] = {}
        self._on_reconnect: list[Callable[[], None]] = []

    @property
    def max_payload(self) -> int:
        """The largest message the connected server accepts."""
        return self.nc.max_payload

    @property
    def connected(self) -> bool:
        """Whether the client is connected now."""
        return self.nc.is_connected

    def new_inbox(self) -> str:
        """A fresh reply subject of this client."""
        return self.nc.new_inbox()

    def subscribe(self, subject: str, handler: Callable[[WireMsg], None]) -> int:
        """Call `handler` (from nats-py's per-subscription task) for each message."""

        async def deliver(msg: Msg) -> None:
            handler(_NatsPyMsg(self, msg))

        sub = _run_now(self.nc.subscribe(subject, cb=deliver))
        if not isinstance(sub, Subscription):
            raise RuntimeError("nats-py could not subscribe without waiting")
        sid: int = sub._id  # pyright: ignore[reportPrivateUsage] - nats-py's own sid
        self._subs[sid] = sub
        return sid

    def unsubscribe(self, sid: int) -> None:
        """End a subscription made by `subscribe`."""
        sub = self._subs.pop(sid, None)
        if sub is not None:
            _run_now(sub.unsubscribe())

    def publish(
        self,
        subject: str,
        payload: bytes,
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish through nats-py, refusing first what the server would refuse."""
        size = len(payload) + sum(len(k) + len(v) + 4 for k, v in (headers or {}).items())
        if headers:
            size += len("NATS/1.0\r\n\r\n")
        if size > self.max_payload:
            raise PayloadTooLargeError(subject, size, self.max_payload)
        _run_now(self.nc.publish(subject, payload, reply, headers))

    def on_reconnect(self, callback: Callable[[], None], remove: bool = False) -> None:
        """Call `callback` after each reconnection of the nats-py client."""
        if remove:
            with contextlib.suppress(ValueError):
                self._on_reconnect.remove(callback)
        else:
            self._on_reconnect.append(callback)

    def reconnected(self) -> None:
        """The client reconnected: tell whoever asked."""
        for callback in list(self._on_reconnect):
            callback()

    async def flush(self, timeout: float = 5.0) -> None:
        """A PING round trip through nats-py."""
        await self.nc.flush(timeout=int(timeout) or 1)

    async def close(self) -> None:
        """Nothing of its own to close: the nats-py client is closed by its owner."""
