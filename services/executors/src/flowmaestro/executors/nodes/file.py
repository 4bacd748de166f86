"""Executor of `file`: reads a document from an upload, a URL or upstream, and parses it."""

from __future__ import annotations

from typing import Any

from flowmaestro.events.catalogue import FileConfig
from flowmaestro.executors.context import NodeContext, NodeResult, upstream_document
from flowmaestro.executors.documents import detect_format, parse_document
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.web import raise_for_status, send

__all__ = ["run_file"]


async def _source(ctx: NodeContext, config: FileConfig) -> tuple[bytes, str, str]:
    """The document's bytes, name and content type."""
    file_id, url, content = config.file_id, config.url, config.content
    if file_id is None and url is None and content is None:
        upstream: Any = upstream_document(ctx)
        if isinstance(upstream, str):
            content = upstream
        elif isinstance(upstream, dict) and isinstance(upstream.get("file_id"), str):
            file_id = upstream["file_id"]
        else:
            raise TerminalNodeError(
                "nothing to parse: set file_id, url or content, or pass text or "
                "{file_id} from upstream",
                kind="invalid_config",
            )
    if file_id is not None:
        uploaded = await ctx.file(file_id)
        return uploaded.data, uploaded.name, uploaded.content_type
    if url is not None:
        reply = await send("GET", url, max_bytes=config.max_bytes)
        raise_for_status(reply, f"GET {url}")
        return reply.body, url.split("?")[0], reply.headers.get("content-type", "")
    data = (content or "").encode()
    return data, "", ""


async def run_file(ctx: NodeContext, config: FileConfig) -> NodeResult:
    """Parse the document as `format` (detected when `auto`)."""
    data, name, content_type = await _source(ctx, config)
    if len(data) > config.max_bytes:
        raise TerminalNodeError(
            f"the document is larger than {config.max_bytes} bytes", kind="too_large"
        )
    document_format = (
        detect_format(data, name, content_type) if config.format == "auto" else config.format
    )
    parsed = await parse_document(
        data,
        document_format,
        config.delimiter,
        config.has_header,
        config.max_rows,
        owner=ctx.command.owner_id or "",
    )
    return NodeResult(output=parsed)
