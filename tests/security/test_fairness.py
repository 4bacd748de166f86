"""One tenant cannot hold every slot of a node type: its commands over the cap wait, not
fail, while another tenant's run passes at once."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.engine import TEST_TENANT_CAPS, WORKERS
from tests.support.gateway import User, data_of
from tests.support.runs import Bystander, create_workflow, start_run, wait_end

FLOOD = 300
"""More slow echo nodes than an executor pool pulls at once (256)."""


def flood(count: int, delay: float) -> dict:
    return {
        "nodes": {
            f"slow{i}": {"id": f"slow{i}", "type": "echo", "data": {"delay_seconds": delay}}
            for i in range(count)
        },
        "edges": [],
    }


async def test_a_flooding_tenant_waits_its_turn_and_another_tenants_echo_starts_at_once(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    cap = TEST_TENANT_CAPS.cap("echo")
    worker = next(w for w in WORKERS if w.admission.slots.caps == TEST_TENANT_CAPS)
    slots = worker.admission.slots
    attack = await start_run(
        client, mallory, await create_workflow(client, mallory, flood(FLOOD, 8))
    )
    peak = 0
    for _ in range(40):  # the flood arrives
        peak = max(peak, slots.held(mallory.id, "echo"))
        await asyncio.sleep(0.05)
    began = time.monotonic()
    victim = Bystander(client, alice)
    await victim.run_once()
    waited = time.monotonic() - began
    peak = max(peak, slots.held(mallory.id, "echo"))
    detail = data_of(await client.get(f"/api/executions/{attack}", headers=mallory.headers))
    data_of(
        await client.post(f"/api/executions/{attack}/cancel", json={}, headers=mallory.headers),
        202,
    )
    ended = await wait_end(client, mallory, attack, timeout=30)

    assert not victim.failures, victim.failures
    # Without caps Mallory's 256 slow echoes fill the pool and Alice waits seconds for one.
    assert waited < 2.5, f"the other tenant's two echo steps took {waited:.2f}s"
    assert detail["status"] == "running"  # the flood was still in flight meanwhile
    assert peak == cap
    statuses = {n["status"] for n in ended["nodes"].values()}
    assert "failed" not in statuses, ended  # waiting for a turn is not a crash (no poison)
    assert ended["status"] == "cancelled"
