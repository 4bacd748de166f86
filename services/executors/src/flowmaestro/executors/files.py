"""The one way a node reaches files: uploads and the files nodes make, scoped to an owner.

An upload is read by its id and only by its owner. A file a node makes or keeps by name
(generated audio and images, semantic-search collections) is stored under its owner's
scope (`owned_file_name`), so the same name written by another tenant is another object.
Anything else is "not found": a node never learns whether another tenant's file exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowmaestro.events.names import owned_file_name
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.runtime.files import FileNotFoundInStoreError, FileStore

__all__ = ["OwnerFiles", "UploadedFile"]

_UPLOAD_ID = re.compile(r"^[0-9A-Za-z]{26}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file opened for one command: an upload, or a file a node of the owner made."""

    id: str
    name: str
    content_type: str
    data: bytes


def _not_found(ref: str) -> TerminalNodeError:
    return TerminalNodeError(f"no file {ref!r}", kind="file")


def _checked_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name.split("/"):
        raise TerminalNodeError(
            f"file name {name!r}: use letters, digits, '.', '-', '_', '/'",
            kind="invalid_config",
        )
    return name


class OwnerFiles:
    """Every file access of one command, as its execution's owner."""

    def __init__(self, store: FileStore, owner_id: str | None) -> None:
        self._store = store
        self._owner_id = owner_id

    async def open(self, ref: str) -> UploadedFile:
        """An upload by id, or a file the owner's nodes made (by the name they returned).

        Raises `TerminalNodeError` ("no file") when neither exists for this owner.
        """
        if _UPLOAD_ID.match(ref):
            try:
                stored = await self._store.open(ref)
            except FileNotFoundInStoreError:
                stored = None
            if stored is not None and stored.info.id == ref and self._owns(stored.info.owner_id):
                info = stored.info
                return UploadedFile(info.id, info.name, info.content_type, stored.data)
        data = await self.get(ref) if _NAME.match(ref) and ".." not in ref.split("/") else None
        if data is None:
            raise _not_found(ref)
        return UploadedFile(ref, ref.rsplit("/", 1)[-1], "application/octet-stream", data)

    async def put(self, name: str, data: bytes) -> str:
        """Keep `data` under `name` in the owner's scope; returns `name` (what nodes pass on)."""
        await self._store.put(owned_file_name(self._owner_id, _checked_name(name)), data)
        return name

    async def get(self, name: str) -> bytes | None:
        """The file the owner's nodes kept under `name`, or None."""
        return await self._store.get(owned_file_name(self._owner_id, _checked_name(name)))

    def _owns(self, owner_id: str | None) -> bool:
        # Runs without an owner (a local single-user stack) read every upload, as before.
        return self._owner_id is None or owner_id == self._owner_id
