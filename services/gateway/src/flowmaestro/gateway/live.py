"""One execution's live tail: its log events (durable, resumable by stream sequence)
interleaved with live chunks (not durable), and idle ticks for heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from flowmaestro.events.names import live_wildcard
from flowmaestro.gateway.messages import chunk_message, event_message
from flowmaestro.runtime import tail

__all__ = ["LiveItem", "live_tail"]


@dataclass(frozen=True, slots=True)
class LiveItem:
    """A message to send (`seq` is set for log events), or an idle tick when `message` is None."""

    message: dict[str, Any] | None
    seq: int | None = None


_END = object()


async def live_tail(
    nc: Client, execution_id: str, after_seq: int = 0, idle_s: float = 15.0
) -> AsyncIterator[LiveItem]:
    """Yield the execution's events after `after_seq`, chunks as they come, and an idle tick
    every `idle_s` of silence; ends after the terminal event."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def on_chunk(msg: Msg) -> None:
        node_id = msg.subject.rsplit(".", 1)[1]
        text = msg.data.decode(errors="replace")
        queue.put_nowait(LiveItem(chunk_message(execution_id, node_id, text, datetime.now(UTC))))

    async def pump() -> None:
        last_time = datetime.now(UTC)
        try:
            async for seq, event in tail(nc, execution_id, after_seq):
                message = event_message(execution_id, seq, event, last_time)
                last_time = datetime.fromisoformat(message["timestamp"])
                queue.put_nowait(LiveItem(message, seq))
        finally:
            queue.put_nowait(_END)

    chunks = await nc.subscribe(live_wildcard(execution_id), cb=on_chunk)
    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), idle_s)
            except TimeoutError:
                yield LiveItem(None)
                continue
            if item is _END:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        with contextlib.suppress(Exception):
            await chunks.unsubscribe()
