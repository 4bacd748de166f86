"""The executor runtime's command loop: pull a node type's commands, admit, run, deliver.

Each part does one thing and is testable alone: `Admission` (tenant caps and rate limits),
`Runner` (timeouts, cache, cancellation, heartbeats), `ResultSink` (offload, append once,
ack) and `Capabilities` (the context a node attempt sees). Delivery is at least once; the
result of an attempt is appended once, so a redelivered command that already ran changes
nothing in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import structlog
from anyio.abc import TaskGroup
from nats.aio.client import Client

from flowmaestro.events import (
    CATALOGUE,
    CodecError,
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeFailed,
    decode_command,
)
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.names import CMD_STREAM, Header, cancel_wildcard, executor_consumer
from flowmaestro.executors.admission import Admission, Ticket
from flowmaestro.executors.capabilities import Capabilities
from flowmaestro.executors.context import Executor
from flowmaestro.executors.egress import protect_nats
from flowmaestro.executors.fairness import TenantCaps, TenantSlots
from flowmaestro.executors.probes import Probes
from flowmaestro.executors.runner import Runner
from flowmaestro.executors.sink import ResultSink, failed
from flowmaestro.runtime import ContinuousPull, ExecutionLog, Settings, tracing
from flowmaestro.runtime.cache import NodeCache
from flowmaestro.runtime.config import node_limits_from_env
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.logs import log_scope
from flowmaestro.runtime.metrics import ExecutorMetrics
from flowmaestro.runtime.outputs import OutputStore
from flowmaestro.runtime.ratelimit import RateLimiter, limits_from_env
from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing
from flowmaestro.runtime.service import run_until_stopped
from flowmaestro.runtime.wire import WireMsg

__all__ = ["ExecutorPool", "ExecutorWorker"]

log = structlog.get_logger("flowmaestro.executors")


class ExecutorPool:
    """One node type's pull loop; several pools share an `ExecutorWorker`."""

    def __init__(
        self, worker: ExecutorWorker, node_type: str, executor: Executor, concurrency: int
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
            on_message=lambda msg: self.worker.spawn(partial(self._handle, msg)),
        )

    async def run(self) -> None:
        """Pull and run commands (each in its own task) until cancelled."""
        await self.pull.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.pull.stop()

    async def _handle(self, msg: WireMsg) -> None:
        freed = False

        async def free_pull_slot() -> None:
            # A command queued behind its tenant's cap must not keep others' from arriving.
            nonlocal freed
            if not freed:
                freed = True
                await self.pull.done()

        try:
            await self.worker.run_command(self, msg, free_pull_slot)
        except Exception as exc:
            # Unacknowledged, the command is redelivered and its result appended once.
            log.warning("executors.command_failed", node_type=self.node_type, error=repr(exc))
        finally:
            await free_pull_slot()


class ExecutorWorker:
    """Runs executor pools in one process: the command loop around admission, runner and
    result sink."""

    def __init__(
        self,
        nc: Client,
        executors: dict[str, Executor],
        settings: Settings | None = None,
        concurrency: int | None = None,
        tenant_caps: TenantCaps | None = None,
        metrics: ExecutorMetrics | None = None,
    ) -> None:
        self.nc = nc
        self.metrics = metrics or ExecutorMetrics()
        protect_nats(nc)  # no node may connect to the NATS servers this worker uses
        self.settings = settings or Settings.from_env()
        concurrency = concurrency or self.settings.executor_concurrency
        js = nc.jetstream()
        execution_log = ExecutionLog(nc, outcomes=True)  # executors write only outcomes
        integrations = IntegrationDirectory(js)
        self.limiter = RateLimiter(js)
        self.admission = Admission(
            TenantSlots(tenant_caps or TenantCaps.from_env(os.environ), max_waiting=concurrency),
            self.limiter,
            integrations,
            limits_from_env(),
        )
        self.runner = Runner(
            NodeCache(js), max(0.5, self.settings.command_ack_wait_s / 3), node_limits_from_env()
        )
        self.outputs = OutputStore(js)
        self.sink = ResultSink(execution_log, self.outputs, self.settings.inline_output_limit)
        self.capabilities = Capabilities(nc, execution_log, integrations, KeyRing.from_env())
        self.probes = Probes(nc, integrations, KeyRing.from_env())
        self.pools = [ExecutorPool(self, t, e, concurrency) for t, e in executors.items()]
        self._handlers: asyncio.Queue[Callable[[], Coroutine[Any, Any, None]]] = asyncio.Queue()

    def running(self, execution_id: str) -> int:
        """How many commands of the execution are running in this worker now."""
        return self.runner.running(execution_id)

    def spawn(self, handler: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a command handler in the worker's task group (cancelled with it). Called from
        the connection's read callback, where no task runs: the group's dispatcher starts
        it."""
        self._handlers.put_nowait(handler)

    async def _dispatch(self, group: TaskGroup) -> None:
        while True:
            group.start_soon(await self._handlers.get())

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run every pool, the heartbeats and the command handlers in one task group until
        `stop` is set (a failing loop stops the worker); running commands are left to
        redelivery."""
        stop = stop or asyncio.Event()
        wire = await wire_of(self.nc)
        sid = wire.subscribe(cancel_wildcard(), self._on_cancel)
        probes = await self.probes.subscribe()

        def running(group: TaskGroup) -> None:
            group.start_soon(self._dispatch, group)
            log.info("executors.started", types=[p.node_type for p in self.pools])

        try:
            await run_until_stopped(
                stop, *(p.run for p in self.pools), self.runner.heartbeats, started=running
            )
        finally:
            wire.unsubscribe(sid)
            with contextlib.suppress(Exception):
                await probes.unsubscribe()

    async def poll_backlogs(self) -> None:
        """Record how many commands wait in each pool's consumer (the metrics' backlog)."""
        js = self.nc.jetstream()
        for pool in self.pools:
            info = await js.consumer_info(CMD_STREAM, executor_consumer(pool.node_type))
            self.metrics.backlog.labels(pool.node_type).set(info.num_pending or 0)

    def _on_cancel(self, msg: WireMsg) -> None:
        self.runner.cancel(msg.subject.rsplit(".", 1)[1])

    async def run_command(
        self, pool: ExecutorPool, msg: WireMsg, free_pull_slot: Callable[[], Awaitable[None]]
    ) -> None:
        """Run one delivered command to an appended result, then acknowledge it."""
        try:
            command = decode_command(msg.data)
        except CodecError as exc:
            log.error("executors.bad_command", error=str(exc))
            await msg.term()
            return
        with (
            log_scope(lambda: _log_fields(command, msg)),
            tracing.incoming_traceparent(lambda: _traceparent(msg)),
        ):
            if not tracing.enabled():
                await self._run_command(pool, command, msg, free_pull_slot, None)
                return
            with tracing.span(
                "executors",
                f"node.attempt {command.node_type}",
                _traceparent(msg),
                kind="consumer",
                attributes={
                    "flowmaestro.execution_id": command.execution_id,
                    "flowmaestro.node_id": command.node_id,
                    "flowmaestro.node_type": command.node_type,
                    "flowmaestro.attempt": command.attempt,
                },
            ) as span:
                await self._run_command(pool, command, msg, free_pull_slot, span)

    async def _run_command(
        self,
        pool: ExecutorPool,
        command: ExecuteNode,
        msg: WireMsg,
        free_pull_slot: Callable[[], Awaitable[None]],
        span: Any,
    ) -> None:
        if self.runner.is_cancelled(command.execution_id):
            await msg.ack()
            return
        deliveries = msg.deliveries
        if deliveries > 1 and await self.sink.already_answered(command):
            await msg.ack()
            return
        started = time.monotonic()
        if command.attempt > 1 and deliveries == 1:
            self.metrics.retry(command.node_type)
        traceparent = tracing.span_traceparent(span, None)
        max_deliveries = self.settings.max_deliveries
        if deliveries > max_deliveries:
            # Deferred deliveries (rate limits, fair shares) are not crashes.
            deliveries -= await self.limiter.deferrals(command.idempotency_key)
        if deliveries > max_deliveries:
            error = ErrorInfo(
                message=f"command delivered {deliveries} times; the executor "
                "kept stopping before finishing it",
                kind="poison",
                terminal=True,
            )
            await self._deliver(command, failed(command, error), msg, started, span, traceparent)
            return
        with self.runner.kept_alive(msg):
            admitted = await self.admission.admit(command, free_pull_slot)
            if not isinstance(admitted, Ticket):
                await self._defer(command, msg, admitted)
                return
            try:
                if self.runner.is_cancelled(command.execution_id):
                    await msg.ack()  # cancelled while it queued for its tenant's turn
                    return
                event = await self._run(pool, command, msg)
            finally:
                await self.admission.release(admitted)
        if event is None:  # its execution was cancelled while it ran
            await msg.ack()
            return
        await self._deliver(command, event, msg, started, span, traceparent)

    async def _deliver(
        self,
        command: ExecuteNode,
        event: Event,
        msg: WireMsg,
        started: float,
        span: Any,
        traceparent: str | None,
    ) -> None:
        """Deliver the result, then count the attempt (and an AI node's usage)."""
        await self.sink.deliver(command, event, msg, started, traceparent)
        outcome = (
            "completed"
            if isinstance(event, NodeCompleted)
            else "failed"
            if isinstance(event, NodeFailed)
            else "waiting"
        )
        self.metrics.attempt(command.node_type, outcome, time.monotonic() - started)
        if isinstance(event, NodeCompleted) and isinstance(event.output, dict):
            self.metrics.usage(command.node_type, event.output)
        elif isinstance(event, NodeFailed):
            tracing.mark_failed(span, event.error.message)

    async def _run(self, pool: ExecutorPool, command: ExecuteNode, msg: WireMsg) -> Event | None:
        try:  # large upstream values arrive as stored-output markers: read them now
            command = await self.outputs.resolve_command(command)
        except ReferenceResolutionError as exc:
            return failed(command, ErrorInfo(message=str(exc), kind="reference", terminal=True))
        context = self.capabilities.context(command, pool.spec, msg)
        return await self.runner.run(pool.executor, pool.spec, command, context)

    async def _defer(self, command: ExecuteNode, msg: WireMsg, delay: float) -> None:
        """Hand the command back for redelivery after `delay`, not counted as a crash."""
        await self.limiter.deferrals(command.idempotency_key, add=1)
        await msg.nak(delay=delay)


def _traceparent(msg: WireMsg) -> str | None:
    """The trace context the scheduler sent with the command."""
    return msg.headers.get(Header.TRACEPARENT)


def _log_fields(command: ExecuteNode, msg: WireMsg) -> dict[str, Any]:
    """The fields of every line logged during the command's attempt."""
    return {
        "execution_id": command.execution_id,
        "node_id": command.node_id,
        "attempt": command.attempt,
        "node_type": command.node_type,
        "trace_id": tracing.trace_id_of(tracing.current_traceparent()),
    }
