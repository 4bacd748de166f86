"""Where an attempt's result goes: large output offloaded, the event appended once, acked.

The result's append id derives from the attempt (`<idempotency key>:result`), so a
redelivered command that already ran changes nothing in the log.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec

from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeFailed,
    NodeWaiting,
)
from flowmaestro.events.names import output_object, result_key
from flowmaestro.runtime import ExecutionLog
from flowmaestro.runtime.outputs import OutputStore
from flowmaestro.runtime.wire import WireMsg

__all__ = ["ResultSink", "failed"]

_encoder = msgspec.json.Encoder()


def failed(command: ExecuteNode, error: ErrorInfo) -> NodeFailed:
    """The `node.failed` event of `command`'s attempt."""
    return NodeFailed(
        node_id=command.node_id,
        attempt=command.attempt,
        failed_at=datetime.now(UTC),
        error=error,
    )


class ResultSink:
    """Appends results to execution logs and acknowledges their commands."""

    def __init__(self, log: ExecutionLog, outputs: OutputStore, inline_output_limit: int) -> None:
        self._log = log
        self._outputs = outputs
        self._inline_limit = inline_output_limit

    async def already_answered(self, command: ExecuteNode) -> bool:
        """True when the log already holds this attempt's result (a redelivery after a crash).

        Checked on redeliveries only: it keeps a crashed attempt's side effects and durable
        timers from being started twice.
        """
        for _, event in await self._log.read(command.execution_id):
            if (
                isinstance(event, NodeCompleted | NodeFailed | NodeWaiting)
                and event.node_id == command.node_id
                and event.attempt == command.attempt
            ):
                return True
        return False

    async def deliver(
        self,
        command: ExecuteNode,
        event: Event,
        msg: WireMsg,
        started: float,
        traceparent: str | None = None,
    ) -> None:
        """Stamp the duration, offload a large output, append the result once (with the
        attempt's trace context, when traced), then ack."""
        if isinstance(event, NodeCompleted | NodeFailed):
            event = msgspec.structs.replace(
                event, duration_ms=round((time.monotonic() - started) * 1000, 3)
            )
        event = await self._offload(command, event)
        await self._log.append_result(
            command.execution_id,
            event,
            result_key(command.execution_id, command.node_id, command.attempt),
            traceparent,
        )
        await msg.ack()

    async def _offload(self, command: ExecuteNode, event: Event) -> Event:
        if not isinstance(event, NodeCompleted) or event.output is None:
            return event
        try:
            encoded = _encoder.encode(event.output)
        except (TypeError, ValueError) as exc:
            # Failing the node beats never acknowledging: redelivery would repeat the
            # node's side effects (a sent email, a posted message) until it turned poison.
            return failed(
                command,
                ErrorInfo(message=f"the output is not JSON: {exc}", kind="output", terminal=True),
            )
        if len(encoded) <= self._inline_limit:
            return event
        ref = output_object(
            command.owner_id, command.execution_id, command.node_id, command.attempt
        )
        await self._outputs.put(ref, encoded)
        return msgspec.structs.replace(event, output=None, output_ref=ref)
