"""Child executions an agent starts for its workflow tools, awaited inside the attempt.

Why here and not in the scheduler: a tool call is one step inside an agent attempt whose
conversation (messages, tool results so far) lives in that attempt. The scheduler's
composite nodes (loop, sub-workflow) own a whole node; an agent would have to park and
resume its conversation after every tool call to hand the child to the scheduler. So the
executor appends the child's `execution.started` itself — the same event the scheduler
appends for a loop body, linked to its parent by `ParentRef` and owned by the parent's
owner — and the scheduler runs the child like any other execution. The child id derives
from the attempt and the tool call's key, so a redelivered command resumes the same child
rather than starting another; a tool timeout appends a cancel request.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import zlib
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client

from flowmaestro.events import (
    ExecuteNode,
    ExecutionCancelRequested,
    ExecutionStarted,
    ParentRef,
    WorkflowDefinition,
)
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.events.names import child_execution_id, control_key
from flowmaestro.runtime import AppendConflictError, ExecutionLog, tail, tracing

__all__ = ["ChildWorkflows"]


class ChildWorkflows:
    """Starts a child execution for a node attempt and waits for its end."""

    def __init__(self, nc: Client, log: ExecutionLog) -> None:
        self._nc = nc
        self._log = log

    async def run(
        self,
        command: ExecuteNode,
        key: str,
        definition: WorkflowDefinition,
        inputs: dict[str, Any],
        timeout: float,
    ) -> dict[str, Any]:
        """The child for (`command`'s attempt, `key`), started once and awaited.

        Answers `{ok, status, outputs, error, execution_id}`.
        """
        token = re.sub(r"[^A-Za-z0-9_-]", "_", key)
        child = child_execution_id(command.execution_id, command.node_id, command.attempt, token)
        parent = ParentRef(
            execution_id=command.execution_id,
            node_id=command.node_id,
            attempt=command.attempt,
            index=zlib.crc32(key.encode()),
        )
        with contextlib.suppress(AppendConflictError):  # started before a redelivery
            await self._log.start(
                ExecutionStarted(
                    execution_id=child,
                    definition=definition,
                    inputs=inputs,
                    started_at=datetime.now(UTC),
                    owner_id=command.owner_id,
                    workflows=command.workflows or {},
                    parent=parent,
                    traceparent=tracing.current_traceparent(),  # the parent's trace
                )
            )
        try:
            async with asyncio.timeout(timeout):
                async for _, event in tail(self._nc, child):
                    if isinstance(event, TERMINAL_EVENTS):
                        outputs = getattr(event, "outputs", None)
                        error = getattr(event, "error", None)
                        return {
                            "ok": event.status == "completed",
                            "status": event.status,
                            "outputs": outputs,
                            "error": error.message if error else None,
                            "execution_id": child,
                        }
        except TimeoutError:
            await self._log.append(
                child,
                ExecutionCancelRequested(
                    requested_at=datetime.now(UTC), reason="tool call timed out"
                ),
                control_key(child, "cancel"),
            )
        return {
            "ok": False,
            "status": "timeout",
            "outputs": None,
            "error": f"no answer within {timeout:g}s",
            "execution_id": child,
        }
