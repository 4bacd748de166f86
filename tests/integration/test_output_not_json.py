"""An executor whose output cannot be encoded fails its node once, instead of being
redelivered (and so repeating its side effects) until the command turns poison."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flowmaestro.events import CATALOGUE, ExecutionStatus
from flowmaestro.executors import ExecutorWorker
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.scheduler import Scheduler
from tests.support.engine import run

pytestmark = pytest.mark.integration


async def test_unencodable_output_fails_the_node_after_one_run(tmp_path: Path) -> None:
    runs = 0

    async def not_json(_ctx: NodeContext, _config: Any) -> NodeResult:
        nonlocal runs
        runs += 1
        return NodeResult(output={"value": object()})

    server = EmbeddedNats(tmp_path).start()
    stop = asyncio.Event()
    try:
        nc, scheduler_nc, executor_nc = [await connect(server.url) for _ in range(3)]
        await ensure_topology(nc.jetstream(), CATALOGUE)
        tasks = [
            asyncio.ensure_future(Scheduler(JetStreamEventLog(scheduler_nc)).run(stop)),
            asyncio.ensure_future(ExecutorWorker(executor_nc, {"echo": not_json}).run(stop)),
        ]
        definition = {"nodes": {"n": {"id": "n", "type": "echo", "data": {}}}, "edges": []}
        state, _ = await run(nc, definition)
        stop.set()
        await asyncio.wait(tasks, timeout=5)
        for client in (nc, scheduler_nc, executor_nc):
            await client.close()
    finally:
        server.stop()
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "output" and state.error.terminal
    assert runs == 1
