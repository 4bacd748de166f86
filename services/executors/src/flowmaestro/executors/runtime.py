"""The executor runtime: pull a node type's commands, run them, append the result, ack.

Delivery is at least once; the result of an attempt is appended once (its `Nats-Msg-Id`
is derived from execution, node and attempt), so a redelivered command that already ran
changes nothing in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import zlib
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from nats.aio.client import Client

from flowmaestro.events import (
    CATALOGUE,
    CodecError,
    ErrorInfo,
    Event,
    ExecuteNode,
    ExecutionCancelRequested,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeProgress,
    NodeWaiting,
    ParentRef,
    WorkflowDefinition,
    decode_command,
)
from flowmaestro.events.decide import memo_key
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.events.names import (
    CMD_STREAM,
    cancel_wildcard,
    executor_consumer,
    live_subject,
    output_object,
)
from flowmaestro.executors.context import (
    Deferred,
    Executor,
    Files,
    Integration,
    NodeContext,
    NodeResult,
    UploadedFile,
)
from flowmaestro.executors.egress import protect_nats
from flowmaestro.executors.errors import NodeError, RetryableNodeError, TerminalNodeError
from flowmaestro.runtime import AppendConflictError, ContinuousPull, ExecutionLog, Settings, tail
from flowmaestro.runtime.cache import NodeCache
from flowmaestro.runtime.connect import wire_of
from flowmaestro.runtime.files import FileNotFoundInStoreError, FileStore
from flowmaestro.runtime.outputs import OutputStore
from flowmaestro.runtime.ratelimit import Lease, RateLimit, RateLimiter, limits_from_env
from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing, SecretError
from flowmaestro.runtime.wire import WireMsg

__all__ = ["ExecutorPool", "ExecutorWorker"]

log = structlog.get_logger("flowmaestro.executors")
_encoder = msgspec.json.Encoder()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Cancelled(BaseException):
    """Raised into a node task whose execution was cancelled (not an error of the node)."""


class ExecutorPool:
    """One node type's pull loop; several pools share an `ExecutorWorker`."""

    def __init__(
        self, worker: ExecutorWorker, node_type: str, executor: Executor, concurrency: int = 256
    ) -> None:
        self.worker = worker
        self.node_type = node_type
        self.spec = CATALOGUE[node_type]
        self.executor = executor
        self.pull = ContinuousPull(
            worker.nc,
            CMD_STREAM,
            executor_consumer(node_type),
            concurrency,
            on_message=lambda msg: self.worker.spawn(self._handle(msg)),
        )

    async def run(self) -> None:
        """Pull and run commands (each in its own task) until cancelled."""
        await self.pull.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.pull.stop()

    async def _handle(self, msg: WireMsg) -> None:
        try:
            await self.worker.run_command(self, msg)
        except Exception as exc:
            # Unacknowledged, the command is redelivered and its result appended once.
            log.warning("executors.command_failed", node_type=self.node_type, error=repr(exc))
        finally:
            await self.pull.done()


class ExecutorWorker:
    """Runs executor pools in one process and appends their results to the log."""

    def __init__(
        self,
        nc: Client,
        executors: dict[str, Executor],
        settings: Settings | None = None,
        concurrency: int = 256,
    ) -> None:
        self.nc = nc
        protect_nats(nc)  # no node may connect to the NATS servers this worker uses
        self.js = nc.jetstream()
        self.log = ExecutionLog(nc, outcomes=True)
        self.outputs = OutputStore(self.js)
        self.file_store = FileStore(self.js)
        self.files = Files(put=self.file_store.put, get=self.file_store.get)
        self.integrations = IntegrationDirectory(self.js)
        self.cache = NodeCache(self.js)
        self.limiter = RateLimiter(self.js)
        self.rate_limits = limits_from_env()
        self.keys = KeyRing.from_env()
        self.settings = settings or Settings.from_env()
        self.pools = [ExecutorPool(self, t, e, concurrency) for t, e in executors.items()]
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: dict[str, set[asyncio.Task[Any]]] = {}
        self._in_flight: dict[int, tuple[WireMsg, float]] = {}
        self._cancelled: OrderedDict[str, None] = OrderedDict()

    def running(self, execution_id: str) -> int:
        """How many commands of the execution are running in this worker now."""
        return len(self._running.get(execution_id, ()))

    def spawn(self, coro: Any) -> None:
        """Run a command handler in the background, keeping a reference to it."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run every pool until `stop` is set; running commands are left to redelivery."""
        stop = stop or asyncio.Event()
        wire = await wire_of(self.nc)
        sid = wire.subscribe(cancel_wildcard(), self._on_cancel)
        loops = [asyncio.ensure_future(p.run()) for p in self.pools]
        loops.append(asyncio.ensure_future(self._heartbeats()))
        log.info("executors.started", types=[p.node_type for p in self.pools])
        try:
            await stop.wait()
        finally:
            for task in (*loops, *self._tasks):
                task.cancel()
            await asyncio.gather(*loops, *self._tasks, return_exceptions=True)
            wire.unsubscribe(sid)

    def _on_cancel(self, msg: WireMsg) -> None:
        execution_id = msg.subject.rsplit(".", 1)[1]
        self._cancelled[execution_id] = None
        while len(self._cancelled) > 10_000:
            self._cancelled.popitem(last=False)
        for task in self._running.get(execution_id, ()):
            task.cancel(msg="execution cancelled")

    async def run_command(self, pool: ExecutorPool, msg: WireMsg) -> None:
        """Run one delivered command to an appended result, then acknowledge it."""
        try:
            command = decode_command(msg.data)
        except CodecError as exc:
            log.error("executors.bad_command", error=str(exc))
            await msg.term()
            return
        if command.execution_id in self._cancelled:
            await msg.ack()
            return
        deliveries = msg.deliveries
        if deliveries > 1 and await self._already_answered(command):
            await msg.ack()
            return
        started = time.monotonic()
        if deliveries > self.settings.max_deliveries:
            deliveries -= await self.limiter.deferrals(command.idempotency_key)
        leases: list[Lease] = []
        if deliveries <= self.settings.max_deliveries:
            leases, delay = await self._admit(command)
            if delay > 0:
                # Rate limited: wait for redelivery; deferrals do not count as crashes.
                await self.limiter.deferrals(command.idempotency_key, add=1)
                await msg.nak(delay=delay)
                return
        if deliveries > self.settings.max_deliveries:
            error = ErrorInfo(
                message=f"command delivered {deliveries} times; the executor "
                "kept stopping before finishing it",
                kind="poison",
                terminal=True,
            )
            event: Event = NodeFailed(
                node_id=command.node_id, attempt=command.attempt, failed_at=_utcnow(), error=error
            )
        else:
            task = asyncio.current_task()
            assert task is not None
            running = self._running.setdefault(command.execution_id, set())
            running.add(task)
            self._in_flight[id(msg)] = (msg, started)
            try:
                event = await self._execute(pool, command, msg)
            except asyncio.CancelledError:
                if command.execution_id in self._cancelled:
                    task.uncancel()
                    await msg.ack()
                    return
                raise
            finally:
                self._in_flight.pop(id(msg), None)
                running.discard(task)
                if not running:
                    self._running.pop(command.execution_id, None)
                for lease in leases:
                    with contextlib.suppress(Exception):
                        await self.limiter.release(lease)
        if isinstance(event, NodeCompleted | NodeFailed):
            event = msgspec.structs.replace(
                event, duration_ms=round((time.monotonic() - started) * 1000, 3)
            )
        event = await self._offload(command, event)
        await self.log.append_result(
            command.execution_id, event, f"{command.idempotency_key}:result"
        )
        await msg.ack()

    async def _execute(self, pool: ExecutorPool, command: ExecuteNode, msg: WireMsg) -> Event:
        try:  # large upstream values arrive as stored-output markers: read them now
            command = await self.outputs.resolve_command(command)
        except ReferenceResolutionError as exc:
            return self._failed(
                command, ErrorInfo(message=str(exc), kind="reference", terminal=True)
            )
        fire: list[NodeCompleted | NodeFailed] = []

        async def complete_at(_at: datetime, event: Event) -> None:
            # armed by the scheduler from the NodeWaiting below (executors write no timers)
            assert isinstance(event, NodeCompleted | NodeFailed)
            fire[:] = [event]

        ctx = NodeContext(
            command,
            pool.spec,
            heartbeat=msg.in_progress,
            stream=lambda chunk: self._stream(command, chunk),
            complete_at=complete_at,
            integration=lambda integration_id: self._integration(command, integration_id),
            record=lambda key, data: self._record(command, key, data),
            recorded=lambda: self._recorded(command),
            files=self.files,
            file=lambda file_id: self._file(command, file_id),
            run_workflow=lambda key, definition, inputs, timeout: self._run_workflow(
                command, key, definition, inputs, timeout
            ),
        )
        try:
            try:
                config = msgspec.convert(command.config, pool.spec.config)
            except msgspec.ValidationError as exc:
                raise TerminalNodeError(f"invalid config: {exc}", kind="invalid_config") from exc
            key = memo_key(command) if config.cache is not None else None
            cached = await self.cache.get(key) if key else None
            if cached is not None:
                result: NodeResult | Deferred = NodeResult(
                    output=cached.output, handles=cached.handles, vars=cached.vars
                )
            else:
                async with asyncio.timeout(command.timeout_seconds):
                    result = await pool.executor(ctx, config)
                if key and config.cache is not None and isinstance(result, NodeResult):
                    await self.cache.put(
                        key, config.cache.ttl_seconds, result.output, result.handles, result.vars
                    )
        except TimeoutError:
            return self._failed(
                command,
                ErrorInfo(message=f"timed out after {command.timeout_seconds:g}s", kind="timeout"),
            )
        except NodeError as exc:
            retry_after = exc.retry_after if isinstance(exc, RetryableNodeError) else None
            return self._failed(
                command,
                ErrorInfo(
                    message=exc.message,
                    kind=exc.kind,
                    terminal=exc.terminal,
                    retry_after_seconds=retry_after,
                ),
            )
        except Exception as exc:
            log.warning("executors.node_exception", node_type=command.node_type, error=repr(exc))
            return self._failed(
                command, ErrorInfo(message=f"{type(exc).__name__}: {exc}", kind="exception")
            )
        if isinstance(result, Deferred):
            return NodeWaiting(
                node_id=command.node_id,
                attempt=command.attempt,
                waiting_since=_utcnow(),
                until=result.until,
                request=result.request,
                fire=fire[-1] if fire else None,
            )
        assert isinstance(result, NodeResult)
        return NodeCompleted(
            node_id=command.node_id,
            attempt=command.attempt,
            completed_at=_utcnow(),
            output=result.output,
            handles=result.handles,
            vars=result.vars,
            cached=cached is not None,
        )

    async def _admit(self, command: ExecuteNode) -> tuple[list[Lease], float]:
        """Take a slot under every limit that applies; `([], delay)` when one is full."""
        limits: list[tuple[str, RateLimit]] = []
        if (by_type := self.rate_limits.get(command.node_type)) is not None:
            limits.append((f"type.{command.node_type}", by_type))
        integration_id = command.config.get("integration_id")
        if isinstance(integration_id, str):
            record = await self.integrations.get(integration_id)
            raw = record.config.get("rate_limit") if record else None
            if isinstance(raw, dict):
                with contextlib.suppress(msgspec.ValidationError):
                    limits.append(
                        (f"integration.{integration_id}", msgspec.convert(raw, RateLimit))
                    )
        leases: list[Lease] = []
        for scope, limit in limits:
            lease, delay = await self.limiter.admit(scope, limit, command.timeout_seconds + 30)
            if delay > 0:
                for held in leases:
                    await self.limiter.release(held)
                return [], delay
            if lease is not None:
                leases.append(lease)
        return leases, 0.0

    async def _already_answered(self, command: ExecuteNode) -> bool:
        """True when the log already holds this attempt's result (a redelivery after a crash).

        Checked on redeliveries only: it keeps a crashed attempt's side effects and durable
        timers from being started twice.
        """
        for _, event in await self.log.read(command.execution_id):
            if (
                isinstance(event, NodeCompleted | NodeFailed | NodeWaiting)
                and event.node_id == command.node_id
                and event.attempt == command.attempt
            ):
                return True
        return False

    @staticmethod
    def _failed(command: ExecuteNode, error: ErrorInfo) -> NodeFailed:
        return NodeFailed(
            node_id=command.node_id, attempt=command.attempt, failed_at=_utcnow(), error=error
        )

    async def _offload(self, command: ExecuteNode, event: Event) -> Event:
        if not isinstance(event, NodeCompleted) or event.output is None:
            return event
        try:
            encoded = _encoder.encode(event.output)
        except (TypeError, ValueError) as exc:
            # Failing the node beats never acknowledging: redelivery would repeat the
            # node's side effects (a sent email, a posted message) until it turned poison.
            return self._failed(
                command,
                ErrorInfo(message=f"the output is not JSON: {exc}", kind="output", terminal=True),
            )
        if len(encoded) <= self.settings.inline_output_limit:
            return event
        ref = output_object(command.execution_id, command.node_id, command.attempt)
        await self.outputs.put(ref, encoded)
        return msgspec.structs.replace(event, output=None, output_ref=ref)

    async def _heartbeats(self) -> None:
        """Tell JetStream that long-running commands are alive, so they are not redelivered."""
        every = max(0.5, self.settings.command_ack_wait_s / 3)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for msg, started in list(self._in_flight.values()):
                if now - started >= every:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

    async def _stream(self, command: ExecuteNode, chunk: str) -> None:
        await self.nc.publish(live_subject(command.execution_id, command.node_id), chunk.encode())

    async def _integration(self, command: ExecuteNode, integration_id: str) -> Integration:
        record = await self.integrations.get(integration_id)
        if record is None or (command.owner_id is not None and record.owner_id != command.owner_id):
            raise TerminalNodeError(f"no integration {integration_id!r}", kind="integration")
        if not record.enabled:
            raise TerminalNodeError(f"integration {record.name!r} is disabled", kind="integration")
        try:
            credentials = (
                self.keys.open(record.credentials, record.id) if record.credentials else {}
            )
        except SecretError as exc:
            raise TerminalNodeError(
                f"integration {record.name!r}: {exc}", kind="integration"
            ) from exc
        return Integration(
            id=record.id,
            type=record.type,
            name=record.name,
            config=dict(record.config),
            credentials=dict(credentials),
        )

    async def _record(self, command: ExecuteNode, key: str, data: Any) -> None:
        event = NodeProgress(
            node_id=command.node_id,
            attempt=command.attempt,
            key=key,
            data=data,
            recorded_at=_utcnow(),
        )
        await self.log.append(command.execution_id, event, f"{command.idempotency_key}:rec:{key}")

    async def _recorded(self, command: ExecuteNode) -> dict[str, Any]:
        return {
            event.key: event.data
            for _, event in await self.log.read(command.execution_id)
            if isinstance(event, NodeProgress)
            and event.node_id == command.node_id
            and event.attempt == command.attempt
        }

    async def _file(self, command: ExecuteNode, file_id: str) -> UploadedFile:
        try:
            stored = await self.file_store.open(file_id)
        except FileNotFoundInStoreError as exc:
            raise TerminalNodeError(f"no file {file_id!r}", kind="file") from exc
        info = stored.info
        if command.owner_id is not None and info.owner_id != command.owner_id:
            raise TerminalNodeError(f"no file {file_id!r}", kind="file")
        return UploadedFile(info.id, info.name, info.content_type, stored.data)

    async def _run_workflow(
        self,
        command: ExecuteNode,
        key: str,
        definition: WorkflowDefinition,
        inputs: dict[str, Any],
        timeout: float,
    ) -> dict[str, Any]:
        """A child execution for this attempt, started once per key and awaited."""
        token = re.sub(r"[^A-Za-z0-9_-]", "_", key)
        child = f"{command.execution_id}-{command.node_id}-{command.attempt}-{token}"
        parent = ParentRef(
            execution_id=command.execution_id,
            node_id=command.node_id,
            attempt=command.attempt,
            index=zlib.crc32(key.encode()),
        )
        with contextlib.suppress(AppendConflictError):  # started before a redelivery
            await self.log.start(
                ExecutionStarted(
                    execution_id=child,
                    definition=definition,
                    inputs=inputs,
                    started_at=_utcnow(),
                    owner_id=command.owner_id,
                    workflows=command.workflows or {},
                    parent=parent,
                )
            )
        try:
            async with asyncio.timeout(timeout):
                async for _, event in tail(self.nc, child):
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
            await self.log.append(
                child,
                ExecutionCancelRequested(requested_at=_utcnow(), reason="tool call timed out"),
                f"{child}:cancel",
            )
        return {
            "ok": False,
            "status": "timeout",
            "outputs": None,
            "error": f"no answer within {timeout:g}s",
            "execution_id": child,
        }
