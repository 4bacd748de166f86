"""Reading media a node points at: a URL, an owner's file, or base64."""

from __future__ import annotations

import base64
import binascii

from flowmaestro.executors.context import NodeContext
from flowmaestro.executors.egress import send
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.failures import http_failure

__all__ = ["MAX_MEDIA_BYTES", "fetch_url", "media_bytes", "output_file_name"]

MAX_MEDIA_BYTES = 25 * 1024 * 1024
"""The largest image or audio file a node fetches from a URL."""


async def fetch_url(url: str, timeout: float) -> bytes:
    """The body at `url` (each redirect checked again); 429/5xx/timeouts retryable, other
    errors terminal."""
    reply = await send("GET", url, timeout=timeout, max_bytes=MAX_MEDIA_BYTES)
    if reply.status >= 400:
        text = reply.body[:500].decode(errors="replace")
        raise http_failure("media", reply.status, dict(reply.headers), text)
    return reply.body


async def media_bytes(
    ctx: NodeContext, url: str | None, file: str | None, data: str | None
) -> bytes:
    """The bytes of whichever source is set."""
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise TerminalNodeError("the base64 data is not valid", kind="invalid_input") from exc
    if file:
        # The owner-checked accessor: another tenant's upload or file is "not found".
        return (await ctx.file(file)).data
    if url:
        return await fetch_url(url, ctx.command.timeout_seconds)
    raise TerminalNodeError("no media given", kind="invalid_config")


def output_file_name(ctx: NodeContext, suffix: str) -> str:
    """Where a node attempt keeps a file it made: one name per execution, node and attempt."""
    return f"nodes/{ctx.execution_id}/{ctx.node_id}-{ctx.command.attempt}.{suffix}"
