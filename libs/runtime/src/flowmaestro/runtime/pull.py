"""A continuous pull from a durable JetStream consumer.

nats-py's `fetch(n)` waits for the batch to fill, which costs latency. Here pull requests
are kept outstanding so up to `max_in_flight` messages flow as soon as they exist; the
caller processes whatever has arrived and reports finished messages with `done()`.
Messages arrive over the connection's `Wire`, so they are `WireMsg`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

from nats.aio.client import Client

from flowmaestro.events.names import Header
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.hotpath import HotPath
from flowmaestro.runtime.wire import WireMsg

__all__ = ["ContinuousPull"]

_EXPIRES_S = 30.0
_HEARTBEAT_S = 2.0


class ContinuousPull:
    """Keeps pull requests outstanding on one consumer and hands over arrived messages."""

    def __init__(
        self,
        nc: Client,
        stream: str,
        consumer: str,
        max_in_flight: int = 100,
        on_message: Callable[[WireMsg], None] | None = None,
        group: str | None = None,
        expires_s: float = _EXPIRES_S,
    ) -> None:
        """With `on_message`, each message is handed to it as it arrives (in the
        connection's read callback) instead of being collected for `next_batch`.

        With `group`, the pull joins that priority group of a `pinned_client` consumer:
        it receives messages only while JetStream pins the consumer to it (`pin_id`), and
        keeps a request waiting otherwise, to be pinned when the pinned client goes. A
        pinned client must ask again within the consumer's pin time-out, so `expires_s`
        is kept below it then."""
        self.nc = nc
        self.group = group
        self.pin_id: str | None = None
        self.paused = False
        self._expires_s = expires_s
        self.on_message = on_message
        self.stream = stream
        self.consumer = consumer
        self.max_in_flight = max_in_flight
        self._outstanding = 0
        self._in_flight = 0
        self._arrived: list[WireMsg] = []
        self._ready = asyncio.Event()
        self._wire: HotPath | None = None
        self._sid: int | None = None
        self._inbox = ""
        self._last_signal = time.monotonic()
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe to the delivery inbox and send the first pull request."""
        wire = self._wire = await wire_of(self.nc)
        self._inbox = wire.new_inbox()
        self._sid = wire.subscribe(self._inbox, self._on_message)
        wire.on_reconnect(self._lost_requests)
        self._watchdog = asyncio.create_task(self._watch())
        self._request_more()

    async def stop(self) -> None:
        """Stop receiving; unacknowledged messages are redelivered by the server."""
        if self._watchdog:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._wire is not None and self._sid is not None:
            self._wire.unsubscribe(self._sid)
            self._wire.on_reconnect(self._lost_requests, remove=True)
            self._sid = None

    def _on_message(self, msg: WireMsg) -> None:
        self._last_signal = time.monotonic()
        status = msg.status
        if status is None and msg.reply:
            self._outstanding = max(0, self._outstanding - 1)
            self._in_flight += 1
            if self.group is not None:
                self.pin_id = msg.pin_id or self.pin_id
            if self.on_message is not None:
                self.on_message(msg)
                return
            self._arrived.append(msg)
            self._ready.set()
            return
        if status == "100":  # idle heartbeat
            return
        if status == "423":  # our pin was taken away: wait (unpinned) to be pinned again
            self.pin_id = None
        # 404/408/409: a request ended; what it did not deliver is no longer outstanding.
        pending = msg.headers.get(Header.PENDING_MESSAGES)
        if pending is not None:
            self._outstanding = max(0, self._outstanding - int(pending))
        else:
            self._outstanding = 0
        self._request_more()

    def _lost_requests(self) -> None:
        """After a reconnection the server no longer holds our requests: ask again."""
        self._outstanding = 0
        self._request_more()

    def _request_more(self) -> None:
        if self.paused:
            return
        want = self.max_in_flight - self._in_flight - self._outstanding
        if want < max(1, self.max_in_flight // 4) or self._wire is None or self._sid is None:
            return
        request: dict[str, object] = {
            "batch": want,
            "expires": int(self._expires_s * 1e9),
            "idle_heartbeat": int(min(_HEARTBEAT_S, self._expires_s / 2) * 1e9),
        }
        if self.group is not None:
            request["group"] = self.group
            if self.pin_id is not None:
                request["id"] = self.pin_id
        self._wire.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}",
            json.dumps(request).encode(),
            self._inbox,
        )
        self._outstanding += want

    def pause(self, paused: bool) -> None:
        """Stop asking for messages (what is asked already still comes), or ask again."""
        self.paused = paused
        if not paused:
            self._request_more()

    async def _watch(self) -> None:
        """Forget requests the server lost (restart, reconnect) and ask again."""
        heartbeat = min(_HEARTBEAT_S, self._expires_s / 2)
        while True:
            await asyncio.sleep(heartbeat)
            if time.monotonic() - self._last_signal > 3 * heartbeat:
                self._last_signal = time.monotonic()
                with contextlib.suppress(Exception):
                    self._lost_requests()

    async def next_batch(self) -> list[WireMsg]:
        """Wait until at least one message has arrived, then return all that have."""
        while not self._arrived:
            self._ready.clear()
            await self._ready.wait()
        batch, self._arrived = self._arrived, []
        return batch

    async def done(self, count: int = 1) -> None:
        """Report `count` messages finished (acked or nacked), freeing room to pull more."""
        self._in_flight = max(0, self._in_flight - count)
        self._request_more()
