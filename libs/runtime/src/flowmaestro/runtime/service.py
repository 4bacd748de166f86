"""What every service's entry point shares: where NATS is, logging, signals, the loop, and
the task group its long-running loops live in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from flowmaestro.runtime.config import state_dir
from flowmaestro.runtime.errors import NatsUnreachableError

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from flowmaestro.runtime.metrics import ServiceMetrics

__all__ = [
    "BACKLOG_POLL_S",
    "STACK_FILE",
    "StackNotFoundError",
    "observed",
    "run_service",
    "run_until_stopped",
    "stack_value",
    "stop_on_signals",
]

BACKLOG_POLL_S = 10.0
"""How often a service that serves metrics reads its consumers' backlogs."""

STACK_FILE = "stack.json"
"""In the state folder while `flowmaestro up` runs: its NATS, database and gateway URLs."""


class StackNotFoundError(Exception):
    """No running stack and no environment variable naming what was asked for."""


def stack_value(key: str, env_var: str, explicit: str | None = None) -> str:
    """`explicit`, else `env_var`, else `key` of the running stack's `stack.json`."""
    if explicit:
        return explicit
    if value := os.environ.get(env_var):
        return value
    path = state_dir() / STACK_FILE
    try:
        return json.loads(path.read_text())[key]
    except (OSError, ValueError, KeyError):
        raise StackNotFoundError(
            f"no running stack found in {path.parent}; start one with `flowmaestro up` "
            f"or set {env_var}"
        ) from None


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_until_stopped(
    stop: asyncio.Event,
    *loops: Callable[[], Coroutine[Any, Any, Any]],
    started: Callable[[TaskGroup], None] | None = None,
) -> None:
    """Run a service's `loops` in one task group until `stop` is set, then cancel them.

    A loop that fails cancels its siblings and its error is raised (unwrapped when it is
    the only one), so a service never limps on with a dead part; when this returns, none
    of its tasks is left. `started(group)` is called once the loops run, for a service that
    starts more tasks in the same group later (command handlers).
    """
    import anyio  # not for `stack_value` users (the `up` supervisor)

    try:
        async with anyio.create_task_group() as group:
            for loop in loops:
                group.start_soon(loop)
            if started is not None:
                started(group)
            await stop.wait()
            group.cancel_scope.cancel()
    except BaseExceptionGroup as failed:
        if len(failed.exceptions) == 1:
            raise failed.exceptions[0] from None
        raise


@contextlib.contextmanager
def observed(metrics: ServiceMetrics) -> Iterator[bool]:
    """A service's telemetry for the block: traces when `OTEL_*` asks for them, and its
    metrics served on `FLOWMAESTRO_METRICS_PORT` when set (yields whether they are)."""
    from flowmaestro.runtime import tracing  # not for `stack_value` users

    tracing.configure_tracing(metrics.service)
    try:
        served = metrics.serve_from_env() is not None
        yield served
    finally:
        metrics.close()
        tracing.shutdown_tracing()


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run_service(main: Coroutine[Any, Any, Any], level: str = "INFO") -> int:
    """Run a service's main coroutine with logging and uvloop; returns an exit code."""
    from flowmaestro.runtime.logs import configure_logging  # not for `stack_value` users

    configure_logging(level)
    _use_uvloop()
    try:
        asyncio.run(main)
    except (NatsUnreachableError, StackNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
