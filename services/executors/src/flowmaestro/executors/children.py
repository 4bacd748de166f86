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

The child's end comes back through the child-results bucket, where the scheduler leaves
the `child.finished` of every tool-call child (`ParentRef.tool`): executors may read no
execution log but their outcome subjects.
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
    ChildFinished,
    ExecuteNode,
    ExecutionCancelRequested,
    ExecutionStarted,
    ParentRef,
    WorkflowDefinition,
    decode_event,
)
from flowmaestro.events.names import CHILD_RESULT_BUCKET, child_execution_id, control_key
from flowmaestro.runtime import AppendConflictError, ExecutionLog, tracing

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
            tool=True,
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
                finished = await self._finished(child)
            return {
                "ok": finished.status == "completed",
                "status": finished.status,
                "outputs": finished.output,
                "error": finished.error.message if finished.error else None,
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

    async def _finished(self, child: str) -> ChildFinished:
        """The child's `child.finished`, once the scheduler has left it in the bucket."""
        bucket = await self._nc.jetstream().key_value(CHILD_RESULT_BUCKET)
        watcher = await bucket.watch(child)
        try:
            async for entry in watcher:
                if entry is not None and entry.value:
                    event = decode_event(entry.value)
                    if isinstance(event, ChildFinished):
                        return event
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()
        raise TimeoutError  # the watcher stopped: treated like no answer in time
