"""A poison execution fails alone: an effect the server keeps refusing is tried a bounded
number of times, then that execution fails with the reason in its log, while others run.

The refusal is real: a nats-server whose scheduler identity may not publish to one
execution's record subject, so every `node.scheduled` record of that execution goes
unacknowledged while the server keeps answering everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowmaestro.events import (
    CATALOGUE,
    ExecutionFailed,
    ExecutionStarted,
    ExecutionStatus,
    parse_definition,
)
from flowmaestro.events.names import record_subject
from flowmaestro.executors import EXECUTORS, ExecutorWorker
from flowmaestro.runtime import ExecutionLog, Settings, connect, ensure_topology, free_port
from flowmaestro.runtime.embedded import nats_server_binary
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.scheduler import Scheduler
from tests.support.engine import start, wait_for_end

pytestmark = pytest.mark.integration

POISONED = "poisoned-run"
ECHO = parse_definition(
    b'{"nodes": {"a": {"id": "a", "type": "echo", "data": {"value": 1}}}, "edges": []}'
)


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[str]:
    """A nats-server where the `scheduler` user may not publish to one record subject."""
    port = free_port()
    config = tmp_path / "nats.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{tmp_path / "js"}" }}\n'
        "authorization { users = [\n"
        '  {user: "scheduler", password: "s", permissions: {publish: {deny: ["'
        + record_subject(POISONED)
        + '"]}}},\n'
        '  {user: "other", password: "o"}\n'
        "] }\n"
    )
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def _engine(address: str) -> AsyncIterator[Scheduler]:
    stop = asyncio.Event()
    admin = None
    for _ in range(100):  # the server is starting
        with contextlib.suppress(Exception):
            admin = await connect(f"nats://other:o@{address}", name="admin", persistent=False)
            break
        await asyncio.sleep(0.05)
    assert admin is not None, "the server did not start"
    await ensure_topology(admin.jetstream(), CATALOGUE)
    scheduler_nc = await connect(f"nats://scheduler:s@{address}", name="scheduler")
    executor_nc = await connect(f"nats://other:o@{address}", name="executors")
    log = JetStreamEventLog(scheduler_nc)
    log.publisher.timeout = 0.3  # an acknowledgement that never comes, soon
    scheduler = Scheduler(log, settings=Settings(effect_attempts=3))
    tasks = [
        asyncio.ensure_future(scheduler.run(stop)),
        asyncio.ensure_future(ExecutorWorker(executor_nc, dict(EXECUTORS)).run(stop)),
    ]
    try:
        yield scheduler
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=5)
        for nc in (scheduler_nc, executor_nc, admin):
            await nc.close()


async def test_an_effect_refused_again_and_again_fails_only_its_execution(
    strict_server: str,
) -> None:
    async with _engine(strict_server):
        nc = await connect(f"nats://other:o@{strict_server}", name="test", persistent=False)
        try:
            await ExecutionLog(nc).start(
                ExecutionStarted(
                    execution_id=POISONED, definition=ECHO, started_at=datetime.now(UTC)
                )
            )
            others = [await start(nc, ECHO) for _ in range(3)]
            for execution_id in others:
                state, _ = await wait_for_end(nc, execution_id, timeout=5)
                assert state.status is ExecutionStatus.COMPLETED
            state, records = await wait_for_end(nc, POISONED, timeout=20)
            assert state.status is ExecutionStatus.FAILED
            failure = next(e for _, e in records if isinstance(e, ExecutionFailed))
            assert failure.error.kind == "poison"
            assert "after 3 attempt(s)" in failure.error.message
            assert f"{POISONED}:a:1:scheduled" in failure.error.message
            late = await start(nc, ECHO)  # the scheduler is not stuck afterwards
            state, _ = await wait_for_end(nc, late, timeout=5)
            assert state.status is ExecutionStatus.COMPLETED
        finally:
            await nc.close()
