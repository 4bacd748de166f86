"""Where an attempt's result goes: large output offloaded, the event appended once, acked.

The result's append id derives from the attempt (`<idempotency key>:result`), so a
redelivered command that already ran changes nothing in the log, and an append the stream
could not take for a moment (a restart; a cluster electing a new leader, a few seconds) is
simply tried again for a while rather than leaving the command to be run once more. The
log is any `OutcomeLog`: the executors' view of JetStream (`ExecutionLog(nc,
outcomes=True)`), or of the memory log in fast tests (`MemoryEventLog.outcomes()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import structlog
from nats.js.errors import APIError

from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeFailed,
    NodeWaiting,
)
from flowmaestro.events.names import output_object, result_key
from flowmaestro.runtime import PayloadTooLargeError
from flowmaestro.runtime.errors import NatsUnreachableError

__all__ = ["Acknowledgeable", "LargeOutputs", "OutcomeLog", "ResultSink", "failed"]


class OutcomeLog(Protocol):
    """The part of an execution log the executors use: their own outcome subjects."""

    async def append(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        traceparent: str | None = None,
    ) -> Any:
        """Append an outcome; a repeated `key` appends nothing; `traceparent` (the
        attempt's trace context) travels with it where the log keeps headers."""
        ...

    async def read(self, execution_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """The execution's outcomes."""
        ...


class LargeOutputs(Protocol):
    """Where outputs over the inline limit go (`runtime.outputs.OutputStore`)."""

    async def put(self, ref: str, encoded: bytes) -> str: ...


class Acknowledgeable(Protocol):
    """A delivered command: acknowledged once its result is in the log."""

    async def ack(self) -> None: ...
    async def in_progress(self) -> None: ...


log = structlog.get_logger("flowmaestro.executors")


_encoder = msgspec.json.Encoder()

APPEND_PATIENCE_S = 15.0
"""How long an append the stream cannot take now is tried again (a leader election lasts
a few seconds); past it the command stays unacknowledged and is delivered again."""


def _stream_unavailable(exc: BaseException) -> bool:
    """No stream answered (503), no acknowledgement came, or NATS is out of reach."""
    if isinstance(exc, APIError):
        return exc.code == 503
    return isinstance(exc, TimeoutError | ConnectionError | NatsUnreachableError)


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

    def __init__(self, log: OutcomeLog, outputs: LargeOutputs, inline_output_limit: int) -> None:
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
        msg: Acknowledgeable,
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
        key = result_key(command.execution_id, command.node_id, command.attempt)
        deadline = time.monotonic() + APPEND_PATIENCE_S
        pause = 0.1
        while True:
            try:
                await self._append(command, event, key, traceparent)
                break
            except Exception as exc:
                if not _stream_unavailable(exc) or time.monotonic() + pause > deadline:
                    raise
                log.info("executors.append_retry", key=key, error=repr(exc))
            with contextlib.suppress(Exception):
                await msg.in_progress()  # still ours: not to be delivered again meanwhile
            await asyncio.sleep(pause)
            pause = min(2 * pause, 1.0)
        await msg.ack()

    async def _append(
        self, command: ExecuteNode, event: Event, key: str, traceparent: str | None
    ) -> None:
        try:
            await self._log.append(command.execution_id, event, key, traceparent)
        except PayloadTooLargeError as exc:
            # Too large even without its output (many variables, a huge error): the
            # attempt still ends, as a terminal failure, and nothing is retried.
            error = ErrorInfo(
                message=f"the result of node {command.node_id!r} is {exc.size} bytes, over "
                f"the event log's limit of {exc.limit} bytes",
                kind="too_large",
                terminal=True,
            )
            await self._log.append(command.execution_id, failed(command, error), key, traceparent)

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
