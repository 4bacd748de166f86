"""Running the scheduler and the executor pools as long-lived processes."""

from __future__ import annotations

import asyncio
import signal

import structlog

from flowmaestro.events import CATALOGUE
from flowmaestro.runtime import connect, ensure_topology

__all__ = ["prepare", "run_executors", "run_scheduler"]


async def prepare(nats_url: str) -> None:
    """Create or update streams, consumers and buckets."""
    nc = await connect(nats_url, name="flowmaestro-setup")
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
    finally:
        await nc.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_scheduler(nats_url: str) -> None:
    """The scheduler process."""
    from flowmaestro.scheduler import Scheduler  # here: the executors' libraries stay out

    structlog.get_logger().info("starting", role="scheduler")
    nc = await connect(nats_url, name="flowmaestro-scheduler")
    try:
        await Scheduler(nc).run(_stop_on_signals())
    finally:
        await nc.close()


async def run_executors(nats_url: str, types: list[str] | None = None) -> None:
    """The executor process: one pool per node type (all, or `types`)."""
    from flowmaestro.executors import EXECUTORS, ExecutorWorker

    chosen = {t: e for t, e in EXECUTORS.items() if not types or t in types}
    nc = await connect(nats_url, name="flowmaestro-executors")
    try:
        await ExecutorWorker(nc, chosen).run(_stop_on_signals())
    finally:
        await nc.close()
