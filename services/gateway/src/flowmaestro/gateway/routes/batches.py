"""Batches: `POST /api/workflows/{id}/batch` (JSON rows or a CSV upload) and
`/api/batches`: progress, rows, live progress over SSE, cancel, results downloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Stream

from flowmaestro.events.limits import BatchLimits
from flowmaestro.events.names import LiveMessage, is_valid_token
from flowmaestro.gateway.batches import (
    check_concurrency,
    csv_lines,
    jsonl_lines,
    new_batch,
    parse_batch_definition,
    rows_from_csv,
    rows_from_json,
)
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import PageLimit, PageNumber, ok, pagination
from flowmaestro.gateway.errors import NotFoundError, TooLargeError, ValidationFailedError
from flowmaestro.gateway.models import (
    BatchCancelResult,
    BatchOut,
    BatchPage,
    BatchRequest,
    BatchRowPage,
    BatchRowStatusName,
    Envelope,
)
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.routes.workflows import called_definitions

__all__ = ["BatchController", "start_batch_route"]

_VERSION_MAX = 2_147_483_647
_CSV_TYPES = ("text/csv", "application/csv")


def _integer(low: int, high: int, description: str, nullable: bool = False) -> Schema:
    kind = [OpenAPIType.INTEGER, OpenAPIType.NULL] if nullable else OpenAPIType.INTEGER
    return Schema(type=kind, minimum=low, maximum=high, description=description)


def _batch_operation(limits: BatchLimits) -> type[Operation]:
    """The start route's document: JSON rows or a CSV upload (one body, two media types),
    bounded by this gateway's operator maxima, so a request the document allows is one
    the gateway accepts."""
    said = "rows run at once (default and maximum: FLOWMAESTRO_MAX_BATCH_CONCURRENCY)"
    concurrency = _integer(1, limits.concurrency, said)
    which = "the workflow version every row runs (default: current)"
    version = _integer(1, _VERSION_MAX, which)
    rows = Schema(
        type=OpenAPIType.ARRAY,
        items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
        min_items=1,
        max_items=limits.rows,
        description="one object of inputs per execution (at most FLOWMAESTRO_MAX_BATCH_ROWS)",
    )
    body = RequestBody(
        required=True,
        description="JSON rows, or a CSV (header row = input names) as the multipart field "
        "`file`; a raw `text/csv` body is accepted too, with `concurrency` and `version` as "
        "query parameters",
        content={
            "application/json": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={
                        "inputs": rows,
                        "concurrency": _integer(1, limits.concurrency, said, nullable=True),
                        "version": _integer(1, _VERSION_MAX, which, nullable=True),
                    },
                    required=["inputs"],
                    additional_properties=False,
                )
            ),
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={
                        "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                        "concurrency": concurrency,
                        "version": version,
                    },
                    required=["file"],
                )
            ),
        },
    )

    @dataclass
    class BatchOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return BatchOperation


@dataclass
class _ResultsOperation(Operation):
    """The results are a file: JSON Lines or CSV, as `format` asks."""

    def __post_init__(self) -> None:
        assert self.responses is not None
        ok_response = self.responses["200"]
        assert isinstance(ok_response, OpenAPIResponse)
        text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
        ok_response.description = "every row, as JSON Lines or CSV"
        ok_response.content = {"application/x-ndjson": text, "text/csv": text}


class _Upload(msgspec.Struct, kw_only=True):
    body: bytes
    concurrency: int | None
    version: int | None


def _form_integer(value: Any, name: str, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= high:
        raise ValidationFailedError(
            f"{name} must be an integer from 1 to {high}",
            [{"field": name, "code": "invalid", "message": f"not an integer from 1 to {high}"}],
        )
    return number


async def _read_upload(request: Request[Any, Any, Any], limit: int) -> _Upload | BatchRequest:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query = request.query_params
    concurrency = _form_integer(query.get("concurrency"), "concurrency", _VERSION_MAX)
    version = _form_integer(query.get("version"), "version", _VERSION_MAX)
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailedError(
                "the multipart field `file` (the CSV) is required",
                [{"field": "file", "code": "required", "message": "no file"}],
            )
        body = await upload.read(limit + 1)
        if len(body) > limit:
            raise TooLargeError(
                f"the CSV is larger than the maximum {limit} bytes "
                "(FLOWMAESTRO_MAX_BATCH_BODY_BYTES)",
                None,
                limit,
            )
        return _Upload(
            body=body,
            concurrency=_form_integer(form.get("concurrency"), "concurrency", _VERSION_MAX)
            or concurrency,
            version=_form_integer(form.get("version"), "version", _VERSION_MAX) or version,
        )
    body = await request.body()
    if len(body) > limit:
        raise TooLargeError(
            f"the body is {len(body)} bytes, above the maximum {limit} "
            "(FLOWMAESTRO_MAX_BATCH_BODY_BYTES)",
            len(body),
            limit,
        )
    if kind in _CSV_TYPES:
        return _Upload(body=body, concurrency=concurrency, version=version)
    if kind not in ("application/json", ""):
        raise ValidationFailedError(
            f"unsupported content type {kind!r}: send JSON, multipart/form-data or text/csv",
            [{"field": "content-type", "code": "unsupported", "message": kind}],
        )
    try:
        data = msgspec.json.decode(body, type=BatchRequest, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationFailedError(
            "invalid batch request", [{"field": "body", "code": "invalid", "message": str(exc)}]
        ) from None
    except msgspec.DecodeError as exc:
        raise ValidationFailedError(
            "the body is not valid JSON",
            [{"field": "body", "code": "malformed", "message": str(exc)}],
        ) from None
    if data.concurrency is None:
        data.concurrency = concurrency
    if data.version is None:
        data.version = version
    return data


def _batch_id(batch_id: str) -> str:
    if not is_valid_token(batch_id):
        raise NotFoundError(f"no batch {batch_id!r}")
    return batch_id


def start_batch_route(limits: BatchLimits) -> HTTPRouteHandler:
    """`POST /api/workflows/{workflow_id}/batch`, documented with these operator maxima."""

    @post(
        "/api/workflows/{workflow_id:str}/batch",
        status_code=202,
        operation_class=_batch_operation(limits),
        responses=errors(400, 401, 404, 413, 503),
        dependencies=AUTHENTICATED,
        security=BEARER,
        tags=["batches"],
    )
    async def start_batch(
        workflow_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[BatchOut]:
        """Run the workflow once per row — JSON `inputs`, or a CSV whose header names the
        inputs (cells coerced to the declared types) — at most `concurrency` at once. Every
        row is checked before anything starts; a bad row is named by number and field."""
        limits = services.settings.batch_limits
        upload = await _read_upload(request, limits.body_bytes)
        wanted = check_concurrency(upload.concurrency, limits)
        owner_id = user.user_id
        chosen = await services.workflows.to_run(owner_id, workflow_id, upload.version)
        definition = parse_batch_definition(chosen, services.settings.limits)
        if isinstance(upload, BatchRequest):
            columns, rows = rows_from_json(upload.inputs, definition, limits)
        else:
            columns, rows = rows_from_csv(upload.body, definition, limits)
        called = await called_definitions(services, owner_id, chosen)
        batch = new_batch(owner_id, chosen, called, columns, rows, wanted, actor_of(request, user))
        await services.batches.create(batch)
        services.batch_driver.wake.set()
        return ok(await services.batches.get(owner_id, batch.batch_id))

    return start_batch


class BatchController(Controller):
    """One user's batches."""

    path = "/api"
    tags = ["batches"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/batches", responses=errors(400, 401, 503))
    async def list_batches(
        self,
        user: CurrentUser,
        services: ServicesDep,
        workflow_id: Annotated[str | None, Parameter(max_length=100)] = None,
        page_number: PageNumber = 1,
        limit: PageLimit = 20,
    ) -> Envelope[BatchPage]:
        """A page of batches (of one workflow with `workflow_id`), newest first."""
        items, total = await services.batches.list(user.user_id, page_number, limit, workflow_id)
        return ok(BatchPage(batches=items, pagination=pagination(page_number, limit, total)))

    @get("/batches/{batch_id:str}", responses=errors(400, 401, 404, 503))
    async def get_batch(
        self, batch_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[BatchOut]:
        """The batch and how many rows are in each status."""
        return ok(await services.batches.get(user.user_id, _batch_id(batch_id)))

    @get("/batches/{batch_id:str}/rows", responses=errors(400, 401, 404, 503))
    async def list_rows(
        self,
        batch_id: str,
        user: CurrentUser,
        services: ServicesDep,
        status: BatchRowStatusName | None = None,
        page_number: PageNumber = 1,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    ) -> Envelope[BatchRowPage]:
        """A page of rows in order: inputs, status, and outputs or error once ended."""
        rows, total = await services.batches.rows(
            user.user_id, _batch_id(batch_id), page_number, limit, status
        )
        return ok(BatchRowPage(rows=rows, pagination=pagination(page_number, limit, total)))

    @post(
        "/batches/{batch_id:str}/cancel",
        status_code=202,
        responses=errors(400, 401, 404, 409, 503),
    )
    async def cancel_batch(
        self,
        batch_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[BatchCancelResult]:
        """Start no more rows and cancel the running ones; 409 `BATCH_ENDED` once ended."""
        actor = actor_of(request, user)
        await services.batches.request_cancel(user.user_id, _batch_id(batch_id), actor)
        services.batch_driver.wake.set()
        return ok(BatchCancelResult(batch_id=batch_id))

    @get(
        "/batches/{batch_id:str}/results",
        operation_class=_ResultsOperation,
        responses=errors(400, 401, 404, 503),
    )
    async def results(
        self,
        batch_id: str,
        user: CurrentUser,
        services: ServicesDep,
        format: Literal["jsonl", "csv"] = "jsonl",
    ) -> Stream:
        """Every row as JSON Lines (`row`, `execution_id`, `status`, `inputs`, `outputs`,
        `error`) or as CSV (`row`, `execution_id`, `status`, one column per input,
        `outputs` as JSON, `error`'s message)."""
        batch = await services.batches.get(user.user_id, _batch_id(batch_id))
        chunks = services.batches.all_rows(user.user_id, batch_id)
        name = f"batch-{batch_id}.{format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if format == "csv":
            return Stream(csv_lines(batch.columns, chunks), media_type="text/csv", headers=headers)
        return Stream(jsonl_lines(chunks), media_type="application/x-ndjson", headers=headers)

    @get("/batches/{batch_id:str}/events", responses=errors(400, 401, 404, 503))
    async def events(
        self, batch_id: str, user: CurrentUser, services: ServicesDep
    ) -> ServerSentEvent:
        """Server-sent events: `batch:progress` (the batch with its counts) whenever the
        counts change, then `batch:ended` when it has ended, and the stream closes."""
        owner_id = user.user_id
        await services.batches.get(owner_id, _batch_id(batch_id))
        heartbeat = services.settings.heartbeat_s
        every = max(0.05, min(services.settings.batch_poll_s, 1.0))

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            last: bytes | None = None
            quiet = 0.0
            while True:
                batch = await services.batches.get(owner_id, batch_id)
                ended = batch.status in ("completed", "cancelled")
                data = msgspec.json.encode(batch)
                if ended:
                    yield ServerSentEventMessage(data=data.decode(), event=LiveMessage.BATCH_ENDED)
                    return
                if data != last:
                    last, quiet = data, 0.0
                    yield ServerSentEventMessage(
                        data=data.decode(), event=LiveMessage.BATCH_PROGRESS
                    )
                elif quiet >= heartbeat:
                    quiet = 0.0
                    yield ServerSentEventMessage(data=None, comment="heartbeat")
                await asyncio.sleep(every)
                quiet += every

        return ServerSentEvent(
            stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
