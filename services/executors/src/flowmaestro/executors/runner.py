"""Running one node attempt: its config, the cache, the timeout, cancellation, heartbeats.

The runner knows which commands run for which execution, so a cancel notice stops them,
and keeps long-running commands alive with JetStream heartbeats. It turns whatever the
executor did — a result, a deferral, a `NodeError`, an unexpected exception, a timeout —
into the one event of the attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeSpec,
    NodeWaiting,
)
from flowmaestro.events.decide import memo_key
from flowmaestro.events.limits import DEFAULT_LIMITS, Limits, limit_problems
from flowmaestro.events.names import owned_cache_key
from flowmaestro.executors.context import Deferred, Executor, NodeContext, NodeResult
from flowmaestro.executors.errors import NodeError, RetryableNodeError, TerminalNodeError
from flowmaestro.executors.sink import failed
from flowmaestro.runtime.cache import NodeCache
from flowmaestro.runtime.wire import WireMsg

__all__ = ["Runner"]

log = structlog.get_logger("flowmaestro.executors")

_CANCELLED_REMEMBERED = 10_000


class Runner:
    """Runs node attempts and tracks them for cancellation and heartbeats."""

    def __init__(
        self, cache: NodeCache, heartbeat_every: float, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self._cache = cache
        self._limits = limits
        self._heartbeat_every = heartbeat_every
        self._running: dict[str, set[asyncio.Task[Any]]] = {}
        self._alive: dict[int, tuple[WireMsg, float]] = {}
        self._cancelled: OrderedDict[str, None] = OrderedDict()

    def running(self, execution_id: str) -> int:
        """How many commands of the execution are running now."""
        return len(self._running.get(execution_id, ()))

    def is_cancelled(self, execution_id: str) -> bool:
        """True once a cancel notice for the execution has arrived."""
        return execution_id in self._cancelled

    def cancel(self, execution_id: str) -> None:
        """Stop the execution's running commands and skip its later ones."""
        self._cancelled[execution_id] = None
        while len(self._cancelled) > _CANCELLED_REMEMBERED:
            self._cancelled.popitem(last=False)
        for task in self._running.get(execution_id, ()):
            task.cancel(msg="execution cancelled")

    @contextlib.contextmanager
    def kept_alive(self, msg: WireMsg) -> Iterator[None]:
        """Send heartbeats for `msg` while the block runs (waiting for a slot, or running)."""
        self._alive[id(msg)] = (msg, time.monotonic())
        try:
            yield
        finally:
            self._alive.pop(id(msg), None)

    async def heartbeats(self) -> None:
        """Tell JetStream that long-held commands are alive, so they are not redelivered."""
        every = self._heartbeat_every
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for msg, since in list(self._alive.values()):
                if now - since >= every:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

    @contextlib.contextmanager
    def _tracked(self, execution_id: str) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        running = self._running.setdefault(execution_id, set())
        running.add(task)
        try:
            yield
        finally:
            running.discard(task)
            if not running:
                self._running.pop(execution_id, None)

    async def run(
        self, executor: Executor, spec: NodeSpec, command: ExecuteNode, ctx: NodeContext
    ) -> Event | None:
        """The attempt's event, or None when its execution was cancelled meanwhile."""
        task = asyncio.current_task()
        assert task is not None
        try:
            with self._tracked(command.execution_id):
                return await self._attempt(executor, spec, command, ctx)
        except asyncio.CancelledError:
            if self.is_cancelled(command.execution_id):
                task.uncancel()
                return None
            raise

    async def _attempt(
        self, executor: Executor, spec: NodeSpec, command: ExecuteNode, ctx: NodeContext
    ) -> Event:
        cached = None
        try:
            # The validator checked literal settings; these are the resolved ones.
            if over := limit_problems(
                command.node_id,
                command.node_type,
                command.config,
                self._limits,
                now=command.scheduled_at,
            ):
                raise TerminalNodeError("; ".join(p.message for p in over), kind="invalid_config")
            try:
                config = msgspec.convert(command.config, spec.config)
            except msgspec.ValidationError as exc:
                raise TerminalNodeError(f"invalid config: {exc}", kind="invalid_config") from exc
            # Scoped by owner: another tenant's identical node never sees this result.
            key = (
                owned_cache_key(command.owner_id, memo_key(command))
                if config.cache is not None
                else None
            )
            cached = await self._cache.get(key) if key else None
            if cached is not None:
                result: NodeResult | Deferred = NodeResult(
                    output=cached.output, handles=cached.handles, vars=cached.vars
                )
            else:
                async with asyncio.timeout(command.timeout_seconds):
                    result = await executor(ctx, config)
                if key and config.cache is not None and isinstance(result, NodeResult):
                    await self._cache.put(
                        key, config.cache.ttl_seconds, result.output, result.handles, result.vars
                    )
        except TimeoutError:
            return failed(
                command,
                ErrorInfo(message=f"timed out after {command.timeout_seconds:g}s", kind="timeout"),
            )
        except NodeError as exc:
            retry_after = exc.retry_after if isinstance(exc, RetryableNodeError) else None
            return failed(
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
            return failed(
                command, ErrorInfo(message=f"{type(exc).__name__}: {exc}", kind="exception")
            )
        if isinstance(result, Deferred):
            return NodeWaiting(
                node_id=command.node_id,
                attempt=command.attempt,
                waiting_since=datetime.now(UTC),
                until=result.until,
                request=result.request,
                fire=ctx.fire,
            )
        return NodeCompleted(
            node_id=command.node_id,
            attempt=command.attempt,
            completed_at=datetime.now(UTC),
            output=result.output,
            handles=result.handles,
            vars=result.vars,
            cached=cached is not None,
        )
