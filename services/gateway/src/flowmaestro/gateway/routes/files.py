"""`/api/files`: uploads stored in the JetStream object store, for `file` and AI nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import NotFoundError
from flowmaestro.gateway.models import Envelope
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.runtime.errors import RuntimeLayerError

__all__ = ["FileController", "FileOut", "FileUpload"]


@dataclass
class FileUpload:
    """A `multipart/form-data` body whose field `data` is the file (it may be empty)."""

    data: UploadFile


class FileOut(msgspec.Struct, kw_only=True):
    """An uploaded file: pass its `id` as a node's `file_id`."""

    id: str
    name: str
    content_type: str
    size: int


class FileController(Controller):
    """One user's uploads."""

    path = "/api/files"
    tags = ["files"]
    dependencies = AUTHENTICATED
    security = BEARER

    @post("/", status_code=201, responses=errors(400, 401, 413, 503))
    async def upload(
        self,
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: CurrentUser,
        services: ServicesDep,
    ) -> Envelope[FileOut]:
        """Store one file (multipart field `data`); nodes read it by its id."""
        upload = data.data
        info = await services.files.upload(
            await upload.read(),
            upload.filename or "upload",
            upload.content_type or "application/octet-stream",
            owner_id=user.user_id,
        )
        return ok(
            FileOut(id=info.id, name=info.name, content_type=info.content_type, size=info.size)
        )

    @get("/{file_id:str}", responses=errors(400, 401, 404, 503))
    async def describe(
        self, file_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[FileOut]:
        """An upload's name, type and size."""
        try:
            stored = await services.files.open(file_id)
        except RuntimeLayerError:
            raise NotFoundError(f"no file {file_id!r}") from None
        info = stored.info
        if info.owner_id != user.user_id:
            raise NotFoundError(f"no file {file_id!r}")
        return ok(
            FileOut(id=info.id, name=info.name, content_type=info.content_type, size=info.size)
        )
