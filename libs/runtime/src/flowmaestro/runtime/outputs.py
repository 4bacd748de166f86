"""Large node outputs live in a JetStream object store; events carry a reference."""

from __future__ import annotations

from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore

from flowmaestro.events import Event, NodeCompleted
from flowmaestro.events.names import OUTPUT_BUCKET

__all__ = ["OutputStore"]


class OutputStore:
    """Puts and gets node outputs by reference (`<execution>/<node>/<attempt>`)."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            self._store = await self.js.object_store(OUTPUT_BUCKET)
        return self._store

    async def put(self, ref: str, encoded: bytes) -> str:
        """Store already-encoded JSON under `ref` and return the ref."""
        await (await self._bucket()).put(ref, encoded)
        return ref

    async def get(self, ref: str) -> Any:
        """The output stored under `ref`."""
        result = await (await self._bucket()).get(ref)
        return msgspec.json.decode(result.data or b"null")

    async def hydrate(self, event: Event) -> Event:
        """The event with a referenced output loaded back inline."""
        if isinstance(event, NodeCompleted) and event.output_ref is not None:
            return msgspec.structs.replace(event, output=await self.get(event.output_ref))
        return event
