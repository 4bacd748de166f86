"""Start executions against a real nats-server and wait for their outcome."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from flowmaestro.events import (
    Event,
    ExecutionStarted,
    ExecutionState,
    NodeWaiting,
    WorkflowDefinition,
    fold,
    parse_definition,
)
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.executors import EXECUTORS, ExecutorWorker
from flowmaestro.executors.fairness import TenantCaps
from flowmaestro.runtime import ExecutionLog, connect, new_execution_id
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.runtime.metrics import ExecutorMetrics, SchedulerMetrics
from flowmaestro.scheduler import Scheduler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> WorkflowDefinition:
    """A workflow from `examples/`, validated."""
    return parse_definition((EXAMPLES / f"{name}.json").read_bytes())


async def start(
    nc: Client,
    definition: WorkflowDefinition | dict[str, Any],
    inputs: dict[str, Any] | None = None,
) -> str:
    """Append an `execution.started` and return the new execution id."""
    if not isinstance(definition, WorkflowDefinition):
        definition = parse_definition(json.dumps(definition))
    execution_id = new_execution_id()
    await ExecutionLog(nc).start(
        ExecutionStarted(
            execution_id=execution_id,
            definition=definition,
            inputs=inputs or {},
            started_at=datetime.now(UTC),
        )
    )
    return execution_id


async def wait_for_end(
    nc: Client, execution_id: str, timeout: float = 20.0
) -> tuple[ExecutionState, list[tuple[int, Event]]]:
    """Poll the log until it holds a terminal event; return the folded state and the log."""
    log = ExecutionLog(nc)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        records = await log.read(execution_id)
        if any(isinstance(e, TERMINAL_EVENTS) for _, e in records):
            return fold(records), records
        if asyncio.get_running_loop().time() > deadline:
            records = await log.read(execution_id)
            raise TimeoutError(
                f"{execution_id} did not end; log: {[type(e).__name__ for _, e in records]}"
            )
        await asyncio.sleep(0.02)


async def run(
    nc: Client,
    definition: WorkflowDefinition | dict[str, Any],
    inputs: dict[str, Any] | None = None,
    timeout: float = 20.0,
) -> tuple[ExecutionState, list[tuple[int, Event]]]:
    """Start and wait for the end."""
    return await wait_for_end(nc, await start(nc, definition, inputs), timeout)


TEST_TENANT_CAPS = TenantCaps(by_type={"echo": 8})
"""The tests' executors let one tenant run at most 8 echo nodes at once: a cap a fairness
test can reach with slow echo nodes, far from the production default."""

WORKERS: list[ExecutorWorker] = []
"""The executor workers `running_engine` started, for tests that look inside them."""


@contextlib.asynccontextmanager
async def running_engine(
    url: str,
    passwords: dict[str, str] | None = None,
    metrics: tuple[SchedulerMetrics, ExecutorMetrics] | None = None,
) -> AsyncIterator[None]:
    """A scheduler and every executor pool in this process, each on its own connection
    (with `passwords`, each as its own NATS identity; with `metrics`, recording there)."""
    stop = asyncio.Event()

    def identity(user: str) -> tuple[str, str] | None:
        return (user, passwords[user]) if passwords else None

    scheduler_nc = await connect(url, name="test-scheduler", credentials=identity("scheduler"))
    executor_nc = await connect(url, name="test-executors", credentials=identity("executors"))
    scheduler_metrics, executor_metrics = metrics or (None, None)
    worker = ExecutorWorker(
        executor_nc, dict(EXECUTORS), tenant_caps=TEST_TENANT_CAPS, metrics=executor_metrics
    )
    WORKERS.append(worker)
    tasks = [
        asyncio.ensure_future(
            Scheduler(JetStreamEventLog(scheduler_nc), metrics=scheduler_metrics).run(stop)
        ),
        asyncio.ensure_future(worker.run(stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
        await scheduler_nc.close()
        await executor_nc.close()
        WORKERS.remove(worker)


async def wait_for_waiting(
    nc: Client, execution_id: str, node_id: str, timeout: float = 10.0
) -> NodeWaiting:
    """Poll the log until `node_id` is parked; return its `node.waiting` event."""
    log = ExecutionLog(nc)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for _, event in await log.read(execution_id):
            if isinstance(event, NodeWaiting) and event.node_id == node_id:
                return event
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{node_id} of {execution_id} never waited")
