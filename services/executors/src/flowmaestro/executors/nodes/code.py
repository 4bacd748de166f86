"""Executor of `code`: user JavaScript or Python over JSON input, in a sandbox."""

from __future__ import annotations

import msgspec

from flowmaestro.events.catalogue import CodeConfig
from flowmaestro.executors.context import NodeContext, NodeResult, upstream_document
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.sandbox import Limits, SandboxError, run_javascript, run_python

__all__ = ["run_code"]


async def run_code(ctx: NodeContext, config: CodeConfig) -> NodeResult:
    """Run the code with `input` (default: upstream); a failure or a hit limit is terminal.

    Retrying the same code on the same input would hit the same limit, so every sandbox
    failure is terminal; its `kind` says which limit or error it was. Only a full queue
    (`busy`) is worth retrying.
    """
    document = upstream_document(ctx) if config.input is msgspec.UNSET else config.input
    limits = Limits(seconds=config.time_limit_seconds, memory_mb=config.memory_limit_mb)
    owner = ctx.command.owner_id or ""
    try:
        if config.language == "javascript":
            result = await run_javascript(
                config.code, document, limits, owner=owner, webassembly=config.webassembly
            )
        else:
            result = await run_python(config.code, document, limits, owner=owner)
    except SandboxError as exc:
        if exc.kind == "busy":
            raise RetryableNodeError(exc.message, kind="busy", retry_after=1.0) from exc
        raise TerminalNodeError(f"{config.language}: {exc.message}", kind=exc.kind) from exc
    return NodeResult(output=result.output)
