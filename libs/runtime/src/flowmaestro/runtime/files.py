"""Files that nodes make or keep (generated audio and images, search collections), in a
JetStream object store."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from flowmaestro.events.names import FILE_BUCKET

__all__ = ["FileStore"]


class FileStore:
    """Puts and gets files by name in the `FM_FILES` bucket, creating it on first use."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self.js.object_store(FILE_BUCKET)
            except (BucketNotFoundError, NotFoundError):
                self._store = await self.js.create_object_store(FILE_BUCKET)
        return self._store

    async def put(self, name: str, data: bytes) -> str:
        """Store `data` under `name` (replacing what was there) and return the name."""
        await (await self._bucket()).put(name, data)
        return name

    async def get(self, name: str) -> bytes | None:
        """The file stored under `name`, or None when there is none."""
        try:
            result = await (await self._bucket()).get(name)
        except (ObjectNotFoundError, NotFoundError):
            return None
        return result.data or b""
