"""The audit trail over real HTTP: each person's action recorded with who, when, from where
and what; execution actions read from the runs' own logs; each user sees only their own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.gateway import User, data_of, error_of, eventually

pytestmark = pytest.mark.integration


async def audit(client: httpx.AsyncClient, user: User, **params: Any) -> dict:
    return data_of(await client.get("/api/audit", params=params, headers=user.headers))


async def entries_until(
    client: httpx.AsyncClient, user: User, count: int, **params: Any
) -> list[dict]:
    """The entries matching `params` once there are `count` (execution records arrive with
    the projection of the run's log)."""

    async def probe() -> list[dict] | None:
        found = (await audit(client, user, limit=100, **params))["entries"]
        return found if len(found) >= count else None

    return await eventually(probe)


def assert_by(entry: dict, user: User) -> None:
    assert entry["actor"] == {"user_id": user.id, "address": "127.0.0.1"}
    assert entry["at"]


async def test_workflow_and_integration_changes_are_recorded(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    h = alice.headers
    data_of(await client.put(f"/api/workflows/{wid}", json={"name": "renamed"}, headers=h))
    data_of(await client.post(f"/api/workflows/{wid}/versions/1/restore", headers=h), 201)
    created = await client.post(
        "/api/integrations",
        json={"name": "crm", "type": "http", "credentials": {"token": "s3cret"}},
        headers=h,
    )
    iid = data_of(created, 201)["id"]
    data_of(await client.put(f"/api/integrations/{iid}", json={"enabled": False}, headers=h))
    data_of(await client.delete(f"/api/integrations/{iid}", headers=h))
    # Another user's attempts are refused and leave no record in alice's trail.
    error_of(await client.delete(f"/api/workflows/{wid}", headers=bob.headers), 404)
    data_of(await client.delete(f"/api/workflows/{wid}", headers=h))

    flows = (await audit(client, alice, resource_type="workflow", resource_id=wid))["entries"]
    assert [e["action"] for e in flows] == [
        "workflow.deleted",
        "workflow.restored",
        "workflow.updated",
        "workflow.created",
    ]
    for entry in flows:
        assert_by(entry, alice)
        assert entry["resource_type"] == "workflow" and entry["resource_id"] == wid
    assert flows[1]["details"] == {"name": "renamed", "version": 2, "restored_from": 1}
    assert flows[3]["details"] == {"name": "branch", "version": 1}

    kept = (await audit(client, alice, resource_type="integration"))["entries"]
    assert [e["action"] for e in kept] == [
        "integration.deleted",
        "integration.updated",
        "integration.created",
    ]
    assert kept[1]["details"] == {"name": "crm", "type": "http", "changed": ["enabled"]}
    assert "s3cret" not in str(kept)

    page = await audit(client, alice, limit=2)
    assert len(page["entries"]) == 2 and page["pagination"]["total"] == 7
    assert page["pagination"]["pages"] == 4
    assert (await audit(client, alice, actor=bob.id))["entries"] == []
    theirs = await audit(client, bob, resource_id=wid)
    assert theirs["entries"] == [] and theirs["pagination"]["total"] == 0
    bad = await client.get("/api/audit", params={"resource_type": "user"}, headers=h)
    error_of(bad, 400)
    error_of(await client.get("/api/audit"), 401)


async def test_execution_actions_are_events_in_the_runs_log(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    h = alice.headers
    wid = await workflow(client, alice, "cancel")
    eid = (await execute(client, alice, wid, {}))["execution_id"]
    data_of(await client.post(f"/api/executions/{eid}/pause", headers=h), 202)
    error_of(await client.post(f"/api/executions/{eid}/resume", headers=bob.headers), 404)
    data_of(await client.post(f"/api/executions/{eid}/resume", headers=h), 202)
    data_of(
        await client.post(f"/api/executions/{eid}/cancel", json={"reason": "done"}, headers=h),
        202,
    )
    await finished(client, alice, eid)

    found = await entries_until(client, alice, 4, resource_type="execution", resource_id=eid)
    assert [e["action"] for e in found] == [
        "execution.cancel_requested",
        "execution.resumed",
        "execution.pause_requested",
        "execution.started",
    ]
    for entry in found:
        assert_by(entry, alice)
        assert entry["details"]["workflow_id"] == wid
    assert found[0]["details"]["reason"] == "done"
    logs = data_of(await client.get(f"/api/executions/{eid}/logs", headers=h))["logs"]
    started = next(e for e in logs if e["event"] == "execution.started")
    assert started["metadata"]["actor"] == {"user_id": alice.id, "address": "127.0.0.1"}

    approval = await workflow(client, alice, "approval")
    run = (await execute(client, alice, approval, {"amount": 7}))["execution_id"]

    async def waiting() -> bool:
        detail = data_of(await client.get(f"/api/executions/{run}", headers=h))
        return detail["nodes"]["approve"]["status"] == "waiting"

    await eventually(waiting)
    data_of(
        await client.post(
            f"/api/executions/{run}/nodes/approve/input",
            json={"input": {"approved": True}},
            headers=h,
        ),
        202,
    )
    await finished(client, alice, run)
    answered = await entries_until(client, alice, 2, resource_id=run)
    assert [e["action"] for e in answered] == ["execution.input_answered", "execution.started"]
    assert answered[0]["details"]["node_id"] == "approve"
    assert_by(answered[0], alice)

    assert (await audit(client, bob, resource_type="execution", resource_id=eid))["entries"] == []
    assert (await audit(client, bob, resource_id=run))["pagination"]["total"] == 0
    mine = await audit(client, alice, actor=alice.id, resource_type="execution")
    assert {e["resource_id"] for e in mine["entries"]} == {eid, run}
