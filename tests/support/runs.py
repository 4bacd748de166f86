"""Run workflows through the gateway as a tenant would, and watch a bystander's run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.gateway import User, data_of, eventually

__all__ = ["Bystander", "bystander", "create_workflow", "run_to_end", "start_run", "wait_end"]

ENDED = ("completed", "failed", "cancelled")


async def create_workflow(
    client: httpx.AsyncClient, user: User, definition: dict[str, Any], name: str = "wf"
) -> str:
    """Store a workflow for `user`; returns its id."""
    response = await client.post(
        "/api/workflows", json={"name": name, "definition": definition}, headers=user.headers
    )
    return data_of(response, 201)["id"]


async def start_run(
    client: httpx.AsyncClient, user: User, workflow_id: str, inputs: dict[str, Any] | None = None
) -> str:
    """Start an execution of a stored workflow; returns its id."""
    response = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": workflow_id, "inputs": inputs or {}},
        headers=user.headers,
    )
    return data_of(response, 202)["execution_id"]


async def wait_end(
    client: httpx.AsyncClient, user: User, execution_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll the execution's detail until it has ended; returns the detail."""

    async def probe() -> dict[str, Any] | None:
        response = await client.get(f"/api/executions/{execution_id}", headers=user.headers)
        detail = data_of(response)
        return detail if detail["status"] in ENDED else None

    return await eventually(probe, timeout=timeout)


async def run_to_end(
    client: httpx.AsyncClient,
    user: User,
    definition: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Store `definition`, run it with `inputs` and return the ended execution's detail."""
    workflow_id = await create_workflow(client, user, definition)
    return await wait_end(client, user, await start_run(client, user, workflow_id, inputs), timeout)


ECHO = {
    "nodes": {
        "a": {"id": "a", "type": "echo", "position": {"x": 0, "y": 0}, "data": {"value": 1}},
        "b": {"id": "b", "type": "echo", "position": {"x": 200, "y": 0}, "data": {"value": 2}},
        "out": {
            "id": "out",
            "type": "output",
            "position": {"x": 400, "y": 0},
            "data": {"output": "${b.output}"},
        },
    },
    "edges": [
        {"id": "e1", "source": "a", "target": "b"},
        {"id": "e2", "source": "b", "target": "out"},
    ],
}


class Bystander:
    """Another tenant's small workflow, run repeatedly while an attack is in flight."""

    def __init__(self, client: httpx.AsyncClient, user: User) -> None:
        self.client = client
        self.user = user
        self.durations: list[float] = []
        self.failures: list[dict[str, Any]] = []

    async def run_once(self) -> None:
        """One run of the echo chain; records its duration or its failure."""
        began = time.monotonic()
        detail = await run_to_end(self.client, self.user, ECHO)
        if detail["status"] != "completed" or detail["outputs"] != {"out": 2}:
            self.failures.append(detail)
        self.durations.append(time.monotonic() - began)

    async def loop(self) -> None:
        """Run until cancelled."""
        while True:
            await self.run_once()
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def bystander(client: httpx.AsyncClient, user: User) -> AsyncIterator[Bystander]:
    """Run another user's echo workflow in a loop during the block; after it, assert that
    at least one run completed normally and none failed."""
    watcher = Bystander(client, user)
    task = asyncio.ensure_future(watcher.loop())
    try:
        yield watcher
        if not watcher.durations:
            await watcher.run_once()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not watcher.failures, watcher.failures
    assert watcher.durations, "the bystander's run never completed"
