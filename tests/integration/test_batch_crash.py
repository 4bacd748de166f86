"""Durability of batches: a 1,000-row batch with a cap of 10 runs through the real stack —
gateway, scheduler and executors as processes of their own — while each of them is
killed with SIGKILL in the middle and started again. Every row ends exactly once: one
execution per row (its id made from the batch id and row), one `execution.started` and
one terminal event in each log, the right output, and never more than 10 at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowmaestro.events import CATALOGUE, ExecutionStarted, ExecutionStatus, fold
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.events.names import batch_execution_id
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, connect, ensure_topology, free_port
from tests.support.gateway import data_of, register
from tests.support.postgres import fresh_database
from tests.support.processes import cli_service
from tests.support.runs import create_workflow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = 1000
CAP = 10
WORKFLOW = {
    "nodes": {
        "in": {"id": "in", "type": "input", "data": {"schema": {"n": {"type": "integer"}}}},
        "a": {"id": "a", "type": "echo", "data": {"value": "${inputs.n}", "delay_seconds": 0.05}},
        "sum": {
            "id": "sum",
            "type": "transform",
            "data": {"expression": "n * 3", "input": {"n": "${a.output}"}},
        },
        "out": {"id": "out", "type": "output", "data": {"output": "${sum.output}"}},
    },
    "edges": [
        {"id": "1", "source": "in", "target": "a"},
        {"id": "2", "source": "a", "target": "sum"},
        {"id": "3", "source": "sum", "target": "out"},
    ],
}


@pytest.fixture
def batch_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    yield server
    server.stop()


@pytest.fixture
async def batch_database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


async def _get(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    """GET through gateway restarts: retried while the gateway is down or starting."""
    for _ in range(400):
        try:
            response = await http.get(path, headers=headers)
        except httpx.TransportError:
            await asyncio.sleep(0.05)
            continue
        if response.status_code < 500:
            return data_of(response)
        await asyncio.sleep(0.05)
    raise TimeoutError(path)


async def test_every_row_ends_exactly_once_through_kills(
    batch_nats: EmbeddedNats, batch_database: str, tmp_path: Path
) -> None:
    nc = await connect(batch_nats.url, name="batch-crash-test")
    await ensure_topology(nc.jetstream(), CATALOGUE)
    port = free_port()
    env = {
        "FLOWMAESTRO_ACK_WAIT_S": "1.5",
        "FLOWMAESTRO_DATABASE_URL": batch_database,
        "FLOWMAESTRO_GATEWAY_PORT": str(port),
        "FLOWMAESTRO_BATCH_POLL_S": "0.1",
        "FLOWMAESTRO_REGISTER_LIMIT_PER_ADDRESS": "1000",
    }
    roles = ("gateway", "scheduler", "executors")
    services = {role: cli_service(role, batch_nats.url, tmp_path, env) for role in roles}
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            await _get(http, "/health", {})
            user = await register(http, "Batcher")
            wid = await create_workflow(http, user, WORKFLOW)
            rows = [{"n": i} for i in range(ROWS)]
            response = await http.post(
                f"/api/workflows/{wid}/batch",
                json={"inputs": rows, "concurrency": CAP},
                headers=user.headers,
            )
            batch_id = data_of(response, 202)["id"]

            # kill each service once, at a different point of the batch's progress
            victims = {40: "gateway", 90: "scheduler", 140: "executors"}
            most_at_once = 0
            while True:
                batch = await _get(http, f"/api/batches/{batch_id}", user.headers)
                counts = batch["counts"]
                most_at_once = max(most_at_once, counts["pending"] + counts["running"])
                if batch["status"] == "completed":
                    break
                for at, role in list(victims.items()):
                    if batch["ended"] >= at:
                        del victims[at]
                        services[role].kill()
                        await asyncio.sleep(0.3)
                        services[role].start()
                await asyncio.sleep(0.05)
            assert not victims, f"the batch ended before every kill: {victims}"
            assert batch["ended"] == ROWS and counts["completed"] == ROWS, batch
            assert most_at_once <= CAP, most_at_once

            listed = await _get(
                http, f"/api/executions?batch_id={batch_id}&limit=100", user.headers
            )
            assert listed["pagination"]["total"] == ROWS  # no execution beyond the rows

        log = ExecutionLog(nc)
        for row in range(ROWS):
            execution_id = batch_execution_id(batch_id, row)
            records = await log.read(execution_id)
            events = [event for _, event in records]
            starts = [e for e in events if isinstance(e, ExecutionStarted)]
            assert len(starts) == 1 and starts[0].batch_id == batch_id, execution_id
            ends = [e for e in events if isinstance(e, TERMINAL_EVENTS)]
            assert len(ends) == 1, (execution_id, ends)
            state = fold(records)
            assert state.status is ExecutionStatus.COMPLETED, (execution_id, state.error)
            assert state.outputs == {"out": row * 3}
    finally:
        for service in services.values():
            service.stop()
        await nc.close()
