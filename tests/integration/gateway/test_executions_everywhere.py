"""The global executions list (filters by workflow, status and how a run started), the
inbox of human-input nodes waiting for their owner, and node states that are final once
an execution has ended."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStarted, TriggerRef, parse_definition
from flowmaestro.runtime import ExecutionLog, new_execution_id
from tests.integration.gateway.conftest import example
from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.gateway import User, data_of, error_of, eventually

pytestmark = pytest.mark.integration


async def _waiting_in_inbox(client: httpx.AsyncClient, user: User, eid: str) -> dict:
    async def probe() -> dict | None:
        page = data_of(await client.get("/api/inbox", headers=user.headers))
        return next((w for w in page["waiting"] if w["execution_id"] == eid), None)

    return await eventually(probe)


async def test_inbox_lists_waiting_input_and_empties_once_answered(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 30}))["execution_id"]
    item = await _waiting_in_inbox(client, alice, eid)
    assert item["node_id"] == "approve" and item["workflow_id"] == wid
    assert item["workflow_name"] == "approval" and item["workflow_version"] == 1
    assert item["request"]["mode"] == "approval"
    assert item["request"]["prompt"] == "Approve a refund of 30?"
    assert "comment" in item["request"]["schema"]

    assert data_of(await client.get("/api/inbox", headers=bob.headers))["waiting"] == []
    only = data_of(await client.get(f"/api/inbox?workflow_id={wid}", headers=alice.headers))
    assert [w["execution_id"] for w in only["waiting"]] == [eid]
    assert only["pagination"]["total"] == 1
    error_of(await client.get("/api/inbox?limit=101", headers=alice.headers), 400)

    path = f"/api/executions/{eid}/nodes/approve/input"
    data_of(await client.post(path, json={"input": {"approved": True}}, headers=alice.headers), 202)
    await finished(client, alice, eid)
    page = data_of(await client.get("/api/inbox", headers=alice.headers))
    assert all(w["execution_id"] != eid for w in page["waiting"])


async def test_no_node_is_left_waiting_or_pending_after_a_cancel(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 5}))["execution_id"]
    await _waiting_in_inbox(client, alice, eid)
    data_of(await client.post(f"/api/executions/{eid}/cancel", headers=alice.headers), 202)
    detail = await finished(client, alice, eid)
    statuses = {n: v["status"] for n, v in detail["nodes"].items()}
    assert statuses == {
        "start": "completed",
        "approve": "cancelled",
        "refund": "skipped",
        "deny": "skipped",
    }
    assert detail["nodes"]["approve"]["attempts"][-1]["status"] == "cancelled"
    page = data_of(await client.get("/api/inbox", headers=alice.headers))
    assert all(w["execution_id"] != eid for w in page["waiting"])


async def _started_by(nc: Client, owner: str, wid: str, trigger: TriggerRef | None) -> str:
    execution_id = new_execution_id()
    await ExecutionLog(nc).start(
        ExecutionStarted(
            execution_id=execution_id,
            workflow_id=wid,
            workflow_version=1,
            definition=parse_definition(json.dumps(example("transform-chain"))),
            inputs={},
            started_at=datetime.now(UTC),
            owner_id=owner,
            trigger=trigger,
        )
    )
    return execution_id


async def test_the_list_filters_by_workflow_status_and_source(
    client: httpx.AsyncClient, alice: User, engine: Client
) -> None:
    wid = await workflow(client, alice, "branch")
    other = await workflow(client, alice, "cancel")
    manual = (await execute(client, alice, wid, {"amount": 150}))["execution_id"]
    by_hook = await _started_by(
        engine, alice.id, wid, TriggerRef(trigger_id="t1", kind="webhook", fire_key="k1")
    )
    by_cron = await _started_by(
        engine, alice.id, wid, TriggerRef(trigger_id="t2", kind="schedule", fire_key="k2")
    )
    cancelled = (await execute(client, alice, other, {}))["execution_id"]
    data_of(await client.post(f"/api/executions/{cancelled}/cancel", headers=alice.headers), 202)
    for eid in (manual, cancelled):
        await finished(client, alice, eid)

    async def listed(query: str) -> list[str]:
        page = data_of(await client.get(f"/api/executions?{query}", headers=alice.headers))
        return [e["id"] for e in page["executions"]]

    async def projected() -> bool:
        return {by_hook, by_cron} <= set(await listed("limit=100"))

    await eventually(projected)
    rows = data_of(await client.get("/api/executions?limit=100", headers=alice.headers))
    by_id = {e["id"]: e for e in rows["executions"]}
    assert by_id[manual]["source"] == "manual" and by_id[manual]["workflow_name"] == "branch"
    assert by_id[by_hook]["source"] == "webhook" and by_id[by_cron]["source"] == "schedule"

    assert await listed("source=manual") == [cancelled, manual]
    assert await listed("source=webhook") == [by_hook]
    assert await listed(f"source=schedule&workflow_id={wid}") == [by_cron]
    assert await listed("source=batch") == []
    assert await listed("status=cancelled") == [cancelled]
    assert await listed(f"workflow_id={other}") == [cancelled]
    page = data_of(await client.get("/api/executions?limit=2&page=2", headers=alice.headers))
    assert page["pagination"]["total"] == 4 and len(page["executions"]) == 2
    error_of(await client.get("/api/executions?source=cron", headers=alice.headers), 400)


async def test_detail_names_its_workflow_and_version(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    eid = (await execute(client, alice, wid, {"amount": 1}))["execution_id"]
    detail = await finished(client, alice, eid)
    assert detail["workflow_name"] == "branch" and detail["workflow_version"] == 1
    assert detail["inputs"] == {"amount": 1} and detail["source"] == "manual"
    assert error_of(await client.get(f"/api/executions/{eid}", headers=bob.headers), 404)
    error_of(await client.get("/api/executions/no-such-run", headers=alice.headers), 404)
