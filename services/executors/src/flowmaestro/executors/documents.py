"""Parsing documents into JSON (PDF, CSV, XML, JSON) in the document worker pool.

Parsing never runs on the event loop: a document that makes its parser run for minutes
or grow to gigabytes is stopped by the pool's wall time and memory limits, and like every
other refusal it fails its node with a terminal `parse` error.
"""

from __future__ import annotations

from typing import Any

from flowmaestro.executors import settings
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.workers import LazyPool, PoolSpec, TaskFailed
from flowmaestro.workers.documents import (
    DocumentError,
    DocumentFormat,
    detect_format,
    parse_csv,
    parse_json,
    parse_pdf,
    parse_xml,
)

__all__ = [
    "DocumentError",
    "DocumentFormat",
    "detect_format",
    "document_pool",
    "parse_csv",
    "parse_document",
    "parse_json",
    "parse_pdf",
    "parse_xml",
]


def _spec() -> PoolSpec:
    size = settings.DOCUMENT_WORKERS.read_int()
    return PoolSpec(
        name="document",
        module="flowmaestro.workers.documents",
        size=size,
        per_owner=settings.per_tenant(size),
        max_queue=settings.QUEUE.read_int(),
    )


document_pool = LazyPool(_spec)
"""The document workers of this process, started on first use."""


async def parse_document(
    data: bytes,
    document_format: DocumentFormat,
    delimiter: str | None = None,
    has_header: bool | None = None,
    max_rows: int = 100_000,
    *,
    owner: str = "",
) -> dict[str, Any]:
    """Parse `data` as `document_format` for `owner`; raises `TerminalNodeError(kind=parse)`
    when it cannot be parsed or is over a limit, `RetryableNodeError` when the pool is full."""
    seconds = settings.DOCUMENT_TIMEOUT_S.read()
    memory_mb = settings.DOCUMENT_MEMORY_MB.read_int()
    payload = {
        "data": data,
        "format": document_format,
        "delimiter": delimiter,
        "has_header": has_header,
        "max_rows": max_rows,
        "limits": {
            "pdf_max_pages": settings.PDF_MAX_PAGES.read_int(),
            "pdf_max_objects": settings.PDF_MAX_OBJECTS.read_int(),
            "xml_max_elements": settings.XML_MAX_ELEMENTS.read_int(),
            "xml_max_depth": settings.XML_MAX_DEPTH.read_int(),
        },
    }
    try:
        return await document_pool.get().run(owner, payload, seconds=seconds, memory_mb=memory_mb)
    except TaskFailed as exc:
        if exc.kind == "busy":
            raise RetryableNodeError(exc.message, kind="busy", retry_after=1.0) from exc
        messages = {
            "timeout": f"parsing the {document_format} took longer than {seconds:g}s",
            "memory": f"parsing the {document_format} needed more than {memory_mb} MB",
            "crash": f"the {document_format} parser stopped",
        }
        raise TerminalNodeError(messages.get(exc.kind, exc.message), kind="parse") from exc
