"""Files in the `FM_FILES` object store.

Two kinds share the bucket: files nodes make or keep by name (generated audio and images,
search collections), and uploads stored under a new id with their metadata (name, content
type, owner) as JSON in the object's description, which the gateway puts and nodes read.
"""

from __future__ import annotations

import contextlib

import msgspec
from nats.js import JetStreamContext
from nats.js.api import ObjectMeta, ObjectStoreConfig
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from flowmaestro.events.names import FILE_BUCKET
from flowmaestro.runtime.config import Settings
from flowmaestro.runtime.errors import RuntimeLayerError
from flowmaestro.runtime.ids import new_execution_id

__all__ = ["FileInfo", "FileNotFoundInStoreError", "FileStore", "StoredFile"]


class FileNotFoundInStoreError(RuntimeLayerError):
    """No file has this id (or it was deleted)."""

    def __init__(self, file_id: str) -> None:
        self.file_id = file_id
        super().__init__(f"no file {file_id!r}")


class FileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What is known about an uploaded file besides its bytes."""

    id: str
    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    owner_id: str | None = None


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded file read back: its metadata and its bytes."""

    info: FileInfo
    data: bytes


class FileStore:
    """Puts and gets files in the `FM_FILES` bucket, creating it on first use."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self.js.object_store(FILE_BUCKET)
            except (BucketNotFoundError, NotFoundError):
                replicas = Settings.from_env().stream_replicas
                self._store = await self.js.create_object_store(
                    FILE_BUCKET, ObjectStoreConfig(replicas=replicas)
                )
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

    async def upload(
        self,
        data: bytes,
        name: str,
        content_type: str = "application/octet-stream",
        owner_id: str | None = None,
    ) -> FileInfo:
        """Store an upload under a new id and return its metadata."""
        info = FileInfo(
            id=new_execution_id(),
            name=name,
            content_type=content_type,
            size=len(data),
            owner_id=owner_id,
        )
        meta = ObjectMeta(name=info.id, description=msgspec.json.encode(info).decode())
        await (await self._bucket()).put(info.id, data, meta=meta)
        return info

    async def open(self, file_id: str) -> StoredFile:
        """The upload `file_id`; raises `FileNotFoundInStoreError` when there is none."""
        try:
            result = await (await self._bucket()).get(file_id)
        except (ObjectNotFoundError, NotFoundError) as exc:
            raise FileNotFoundInStoreError(file_id) from exc
        description = result.info.description if result.info else None
        if description:
            info = msgspec.json.decode(description, type=FileInfo)
        else:
            info = FileInfo(id=file_id, name=file_id, size=len(result.data or b""))
        return StoredFile(info=info, data=result.data or b"")

    async def delete(self, file_id: str) -> None:
        """Remove a file (no error when absent)."""
        with contextlib.suppress(ObjectNotFoundError, NotFoundError):
            await (await self._bucket()).delete(file_id)
