"""One tenant cannot hold every slot of a node type: its commands over the cap wait, not
fail, while another tenant's run passes at once."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.engine import TEST_TENANT_CAPS, WORKERS
from tests.support.gateway import User, data_of
from tests.support.runs import Bystander, create_workflow, start_run, wait_end

RUNS, NODES = 10, 30
"""300 slow echo nodes: more than an executor pool pulls at once (256), spread over
several runs so that no single run's read model grows large."""


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
    workflow_id = await create_workflow(client, mallory, flood(NODES, 8))
    attacks = [await start_run(client, mallory, workflow_id) for _ in range(RUNS)]
    peak = 0
    for _ in range(40):  # the flood arrives
        peak = max(peak, slots.held(mallory.id, "echo"))
        await asyncio.sleep(0.05)
    began = time.monotonic()
    victim = Bystander(client, alice)
    await victim.run_once()
    waited = time.monotonic() - began
    peak = max(peak, slots.held(mallory.id, "echo"))
    still = [
        data_of(await client.get(f"/api/executions/{a}", headers=mallory.headers))["status"]
        for a in attacks
    ]
    # Without caps Mallory's echoes fill the pool's 256 slots and Alice waits seconds.
    assert waited < 2.5, f"the other tenant's two echo steps took {waited:.2f}s"
    for attack in attacks:
        cancel = f"/api/executions/{attack}/cancel"
        data_of(await client.post(cancel, json={}, headers=mallory.headers), 202)
    ended = [await wait_end(client, mallory, a, timeout=30) for a in attacks]

    assert not victim.failures, victim.failures
    assert set(still) == {"running"}  # the flood was still in flight meanwhile
    assert peak == cap
    statuses = {n["status"] for run in ended for n in run["nodes"].values()}
    assert "failed" not in statuses, ended  # waiting for a turn is not a crash (no poison)
    assert {run["status"] for run in ended} == {"cancelled"}
