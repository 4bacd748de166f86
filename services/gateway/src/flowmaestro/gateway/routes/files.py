"""`/api/files`: uploads stored in the JetStream object store, for `file` and AI nodes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile

from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import NotFoundError, ValidationFailedError
from flowmaestro.gateway.models import Envelope
from flowmaestro.runtime.errors import RuntimeLayerError

__all__ = ["FileController", "FileOut"]


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

    @post("/", status_code=201)
    async def upload(
        self, request: Request[Any, Any, Any], user: CurrentUser, services: ServicesDep
    ) -> Envelope[FileOut]:
        """Store one file (multipart field `data`); nodes read it by its id."""
        try:
            form = await request.form()
        except Exception:
            form = None
        data = form.get("data") if form is not None else None
        if not isinstance(data, UploadFile):
            raise ValidationFailedError(
                "send the file as multipart/form-data field 'data'",
                [{"field": "data", "code": "required", "message": "a file is required"}],
            )
        content = await data.read()
        if not content:
            raise ValidationFailedError(
                "the file is empty", [{"field": "data", "code": "empty", "message": "empty"}]
            )
        info = await services.files.upload(
            content,
            data.filename or "upload",
            data.content_type or "application/octet-stream",
            owner_id=user.user_id,
        )
        return ok(
            FileOut(id=info.id, name=info.name, content_type=info.content_type, size=info.size)
        )

    @get("/{file_id:str}")
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
