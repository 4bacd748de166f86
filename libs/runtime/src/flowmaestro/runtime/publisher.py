"""A lean JetStream publisher for the hot path.

nats-py's JetStream publish parses each acknowledgement into a dataclass through
`dataclasses.fields` and wraps every publish in extra futures and a semaphore; at one
publish per event that is a large share of a step's CPU. This publisher sends plain
publishes over the connection's `Wire` with a reply subject under one shared subscription
and decodes acknowledgements with msgspec. Every acknowledgement is awaited with a
deadline, so a NATS restart that loses it surfaces as `TimeoutError` (and the caller
retries: appends are deduplicated).
"""

from __future__ import annotations

import asyncio
import itertools

import msgspec
from nats.aio.client import Client
from nats.js.errors import APIError

from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.hotpath import HotPath
from flowmaestro.runtime.wire import WireMsg

__all__ = ["JetStreamPublisher", "PublishAck"]


class _ApiError(msgspec.Struct, frozen=True):
    code: int = 0
    err_code: int = 0
    description: str = ""


class PublishAck(msgspec.Struct, frozen=True):
    """The stream's answer to a publish: where it was stored, or why not."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_decoder = msgspec.json.Decoder(PublishAck)


class JetStreamPublisher:
    """Publishes to streams and resolves each acknowledgement as a future."""

    def __init__(self, nc: Client, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout
        self._wire: HotPath | None = None
        self._prefix = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, tuple[asyncio.Future[PublishAck], asyncio.TimerHandle]] = {}

    async def _connect(self) -> HotPath:
        wire = await wire_of(self.nc)
        if self._wire is None:
            self._prefix = wire.new_inbox()
            wire.subscribe(f"{self._prefix}.*", self._on_ack)
            self._wire = wire
        return self._wire

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> asyncio.Future[PublishAck]:
        """Send one message; the future gets its acknowledgement (or an error)."""
        wire = self._wire or await self._connect()
        token = str(next(self._tokens))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PublishAck] = loop.create_future()
        wire.publish(subject, payload, f"{self._prefix}.{token}", headers)
        self._waiting[token] = (future, loop.call_later(self.timeout, self._expire, token))
        return future

    def _expire(self, token: str) -> None:
        future, _ = self._waiting.pop(token, (None, None))
        if future is not None and not future.done():
            future.set_exception(TimeoutError("no acknowledgement from the stream"))

    def _on_ack(self, msg: WireMsg) -> None:
        future, deadline = self._waiting.pop(msg.subject.rsplit(".", 1)[1], (None, None))
        if future is None or deadline is None:
            return
        deadline.cancel()
        if future.done():
            return
        if msg.status == "503":
            future.set_exception(APIError(code=503, description="no stream for the subject"))
            return
        try:
            ack = _decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            future.set_exception(exc)
            return
        if ack.error is not None:
            future.set_exception(
                APIError(
                    code=ack.error.code,
                    err_code=ack.error.err_code,
                    description=ack.error.description,
                )
            )
        else:
            future.set_result(ack)
