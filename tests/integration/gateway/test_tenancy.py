"""Each user sees only their own data: another user's ids answer 404, never 403."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.integration.gateway.conftest import example
from tests.integration.gateway.test_executions import execute, workflow
from tests.integration.gateway.test_live import _until, _ws_url
from tests.support.gateway import User, data_of, error_of

pytestmark = pytest.mark.integration


async def test_another_users_resources_are_not_found(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 5}))["execution_id"]
    iid = data_of(
        await client.post(
            "/api/integrations", json={"name": "x", "type": "http"}, headers=alice.headers
        ),
        201,
    )["id"]
    h = bob.headers
    attempts = [
        client.get(f"/api/workflows/{wid}", headers=h),
        client.put(f"/api/workflows/{wid}", json={"name": "mine"}, headers=h),
        client.put(f"/api/workflows/{wid}", json={"definition": example("branch")}, headers=h),
        client.delete(f"/api/workflows/{wid}", headers=h),
        client.get(f"/api/workflows/{wid}/versions", headers=h),
        client.get(f"/api/workflows/{wid}/versions/1", headers=h),
        client.post(f"/api/workflows/{wid}/versions/1/restore", headers=h),
        client.post(f"/api/workflows/{wid}/test", json={"inputs": {"amount": 1}}, headers=h),
        client.post(
            "/api/workflows/execute", json={"workflow_id": wid, "inputs": {"amount": 1}}, headers=h
        ),
        client.get(f"/api/executions/{eid}", headers=h),
        client.get(f"/api/executions/{eid}/logs", headers=h),
        client.get(f"/api/executions/{eid}/events", headers=h),
        client.post(f"/api/executions/{eid}/cancel", headers=h),
        client.post(
            f"/api/executions/{eid}/nodes/approve/input",
            json={"input": {"approved": True}},
            headers=h,
        ),
        client.put(f"/api/integrations/{iid}", json={"name": "mine"}, headers=h),
        client.delete(f"/api/integrations/{iid}", headers=h),
    ]
    for attempt in attempts:
        response = await attempt
        assert error_of(response, 404)["code"] == "NOT_FOUND", response.request.url

    for path, key in (("/api/workflows", "workflows"), ("/api/executions", "executions")):
        assert data_of(await client.get(path, headers=h))[key] == []
    assert data_of(await client.get("/api/integrations", headers=h))["integrations"] == []

    async with connect(_ws_url(client, bob.token)) as ws:
        await _until(ws, "connection:established")
        await ws.send(json.dumps({"type": "subscribe", "execution_id": eid}))
        assert (await _until(ws, "error"))[-1]["data"]["code"] == "NOT_FOUND"
        await ws.send(
            json.dumps(
                {
                    "type": "user:input:response",
                    "execution_id": eid,
                    "node_id": "approve",
                    "input": {"approved": True},
                }
            )
        )
        assert (await _until(ws, "error"))[-1]["data"]["code"] == "NOT_FOUND"

    # Alice's run is untouched by all of that: still waiting, still hers.
    detail = data_of(await client.get(f"/api/executions/{eid}", headers=alice.headers))
    assert detail["status"] in ("pending", "running")  # still in progress
    assert data_of(await client.get(f"/api/workflows/{wid}", headers=alice.headers))["version"] == 1
    data_of(await client.post(f"/api/executions/{eid}/cancel", headers=alice.headers), 202)
