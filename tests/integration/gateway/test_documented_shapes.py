"""Each documented route answers the documented payload: a client written from the API
overview (README) works unchanged. Extra fields beside the documented ones are allowed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.gateway import PASSWORD, User, data_of, error_of, eventually, register

pytestmark = pytest.mark.integration

USER = {"id", "email", "name", "created_at"}
PAGINATION = {"page", "limit", "total", "pages"}
WORKFLOW = {"id", "name", "description", "version", "definition", "created_at", "updated_at"}
VERSION = {"workflow_id", "version", "definition", "created_at", "restored_from"}
START = {"execution_id", "workflow_id", "workflow_version", "status", "started_at", "test"}
SUMMARY = {"id", "workflow_id", "workflow_version", "status", "test", "started_at"}
SUMMARY |= {"completed_at", "duration_ms"}
DETAIL = SUMMARY | {"inputs", "outputs", "nodes", "error", "current_state", "definition"}
LOG = {"seq", "node_id", "level", "event", "message", "metadata", "created_at"}
INTEGRATION = {"id", "name", "type", "config", "credentials", "enabled"}
INTEGRATION |= {"created_at", "updated_at"}
NODE_TYPE = {"type", "name", "category", "description", "inputs", "outputs", "config_schema"}
STATUSES = {"pending", "running", "completed", "failed", "cancelled"}


def has(value: Any, keys: set[str]) -> dict[str, Any]:
    """`value` is an object holding at least `keys`."""
    assert isinstance(value, dict), value
    assert keys <= set(value), f"missing {sorted(keys - set(value))} in {sorted(value)}"
    return value


async def test_auth_shapes(client: httpx.AsyncClient) -> None:
    email = "shapes-auth@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Shapes"}
    registered = has(data_of(await client.post("/api/auth/register", json=body), 201), {"user"})
    has(registered["user"], USER)
    login = {"email": email, "password": PASSWORD}
    logged = has(data_of(await client.post("/api/auth/login", json=login)), {"user", "token"})
    verified = data_of(await client.post("/api/auth/verify", json={"token": logged["token"]}))
    assert has(verified, {"valid", "user"})["valid"] is True
    has(verified["user"], USER)
    taken = error_of(await client.post("/api/auth/register", json=body), 409)
    assert taken["code"] == "EMAIL_TAKEN"


async def test_workflow_shapes_and_default_order(client: httpx.AsyncClient) -> None:
    user = await register(client, "Shaper")
    ids = [await workflow(client, user, name) for name in ("branch", "wait", "retry")]
    # Touch the oldest: the default order is by creation, not by change.
    renamed = await client.put(f"/api/workflows/{ids[0]}", json={"name": "x"}, headers=user.headers)
    has(data_of(renamed), WORKFLOW)
    listed = has(
        data_of(await client.get("/api/workflows", headers=user.headers)),
        {"workflows", "pagination"},
    )
    assert [w["id"] for w in listed["workflows"]] == ids[::-1]
    for item in listed["workflows"]:
        has(item, WORKFLOW)
    assert has(listed["pagination"], PAGINATION)["total"] == 3

    wid = ids[0]
    has(data_of(await client.get(f"/api/workflows/{wid}", headers=user.headers)), WORKFLOW)
    versions = data_of(await client.get(f"/api/workflows/{wid}/versions", headers=user.headers))
    assert isinstance(versions, list) and versions
    for version in versions:
        has(version, VERSION)
    has(
        data_of(await client.get(f"/api/workflows/{wid}/versions/1", headers=user.headers)), VERSION
    )
    restored = await client.post(f"/api/workflows/{wid}/versions/1/restore", headers=user.headers)
    has(data_of(restored, 201), WORKFLOW)
    deleted = data_of(await client.delete(f"/api/workflows/{ids[2]}", headers=user.headers))
    assert has(deleted, {"id", "deleted"})["deleted"] is True


async def test_execution_shapes(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "transform-chain")
    orders = [{"name": "a", "price": 5}, {"name": "b", "price": 20}]
    started = has(await execute(client, alice, wid, {"orders": orders}), START)
    assert started["status"] == "pending"  # nothing is scheduled yet when it answers
    eid = started["execution_id"]
    detail = has(await finished(client, alice, eid), DETAIL)
    assert detail["status"] == "completed"
    state = has(detail["current_state"], {"nodes", "variables"})
    assert state["variables"] == {"total": 25}
    assert state["nodes"]["total"] == {"count": 2, "sum": 25}
    assert state["nodes"]["result"] == detail["outputs"]["result"]

    listed = has(
        data_of(await client.get("/api/executions", headers=alice.headers)),
        {"executions", "pagination"},
    )
    has(listed["pagination"], PAGINATION)
    for item in listed["executions"]:
        assert has(item, SUMMARY)["status"] in STATUSES
    for status in STATUSES:
        only = data_of(
            await client.get("/api/executions", params={"status": status}, headers=alice.headers)
        )
        assert {e["status"] for e in only["executions"]} <= {status}
    completed = data_of(
        await client.get("/api/executions", params={"status": "completed"}, headers=alice.headers)
    )
    assert eid in {e["id"] for e in completed["executions"]}

    logs = has(
        data_of(await client.get(f"/api/executions/{eid}/logs", headers=alice.headers)), {"logs"}
    )
    for entry in logs["logs"]:
        assert has(entry, LOG)["level"] in {"info", "warn", "error"}
    warn = await client.get(
        f"/api/executions/{eid}/logs", params={"level": "warn"}, headers=alice.headers
    )
    assert data_of(warn) == {"logs": []}


async def test_running_state_cancel_and_input_shapes(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 7}))["execution_id"]

    async def waiting() -> dict[str, Any] | None:
        detail = data_of(await client.get(f"/api/executions/{eid}", headers=alice.headers))
        return detail if detail["nodes"]["approve"]["status"] == "waiting" else None

    running = has(await eventually(waiting), DETAIL)
    assert running["status"] == "running"
    assert running["current_state"]["nodes"] == {"start": {"amount": 7}}
    answered = await client.post(
        f"/api/executions/{eid}/nodes/approve/input",
        json={"input": {"approved": True}},
        headers=alice.headers,
    )
    has(data_of(answered, 202), {"execution_id", "node_id", "attempt", "output"})

    cancel_wid = await workflow(client, alice, "cancel")
    cancel_eid = (await execute(client, alice, cancel_wid, {}))["execution_id"]
    cancelled = data_of(
        await client.post(f"/api/executions/{cancel_eid}/cancel", headers=alice.headers), 202
    )
    has(cancelled, {"cancelled", "execution_id"})
    assert cancelled["cancelled"] is True and cancelled["execution_id"] == cancel_eid
    ended = await finished(client, alice, cancel_eid)
    assert ended["status"] == "cancelled"
    warn = data_of(
        await client.get(
            f"/api/executions/{cancel_eid}/logs", params={"level": "warn"}, headers=alice.headers
        )
    )["logs"]
    assert {e["event"] for e in warn} >= {"execution.cancel_requested"}
    assert {e["level"] for e in warn} == {"warn"}


async def test_integration_node_file_and_health_shapes(
    client: httpx.AsyncClient, alice: User
) -> None:
    body = {"name": "crm", "type": "http", "credentials": {"api_key": "k"}}
    created = await client.post("/api/integrations", json=body, headers=alice.headers)
    iid = has(data_of(created, 201), INTEGRATION)["id"]
    listed = data_of(await client.get("/api/integrations", headers=alice.headers))
    assert [has(i, INTEGRATION)["id"] for i in has(listed, {"integrations"})["integrations"]] == [
        iid
    ]
    updated = await client.put(
        f"/api/integrations/{iid}", json={"enabled": False}, headers=alice.headers
    )
    has(data_of(updated), INTEGRATION)
    removed = data_of(await client.delete(f"/api/integrations/{iid}", headers=alice.headers))
    assert has(removed, {"id", "deleted"})["deleted"] is True

    nodes = has(data_of(await client.get("/api/nodes", headers=alice.headers)), {"nodes"})
    assert nodes["nodes"]
    for node in nodes["nodes"]:
        has(node, NODE_TYPE)

    uploaded = await client.post(
        "/api/files", files={"data": ("a.txt", b"hi", "text/plain")}, headers=alice.headers
    )
    fid = has(data_of(uploaded, 201), {"id", "name", "content_type", "size"})["id"]
    described = await client.get(f"/api/files/{fid}", headers=alice.headers)
    has(data_of(described), {"id", "name", "content_type", "size"})

    assert data_of(await client.get("/health")) == {"status": "ok"}
    has(data_of(await client.get("/ready")), {"status", "checks"})


async def test_errors_are_the_envelope(client: httpx.AsyncClient, alice: User) -> None:
    error_of(await client.get("/api/workflows"), 401)
    error_of(await client.get("/api/workflows/nope", headers=alice.headers), 404)
    error_of(await client.get("/api/workflows?limit=1000", headers=alice.headers), 400)
    strict = await client.post(
        "/api/integrations", json={"name": "x", "type": "y", "enabled": 0}, headers=alice.headers
    )
    assert error_of(strict, 400)["details"][0]["field"] == "enabled"
    wid = await workflow(client, alice, "branch")
    whole = await client.post(  # JSON Schema's integers include 1.0
        "/api/workflows/execute",
        json={"workflow_id": wid, "inputs": {"amount": 3}, "version": 1.0},
        headers=alice.headers,
    )
    assert data_of(whole, 202)["workflow_version"] == 1


BATCH = {"id", "workflow_id", "workflow_version", "status", "concurrency", "total", "ended"}
BATCH |= {"counts", "columns", "created_at", "ended_at"}
COUNTS = {"queued", "pending", "running", "paused", "completed", "failed", "cancelled"}
ROW = {"row", "execution_id", "status", "inputs", "outputs", "error"}


async def test_batch_shapes(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "transform-chain")
    orders = [{"name": "a", "price": 5}]
    body = {"inputs": [{"orders": orders}, {"orders": orders * 2}], "concurrency": 1}
    started = await client.post(f"/api/workflows/{wid}/batch", json=body, headers=alice.headers)
    batch = has(data_of(started, 202), BATCH)
    assert set(batch["counts"]) == COUNTS and batch["status"] == "running"

    async def ended() -> dict[str, Any] | None:
        got = data_of(await client.get(f"/api/batches/{batch['id']}", headers=alice.headers))
        return got if got["status"] == "completed" else None

    has(await eventually(ended), BATCH)
    listed = has(
        data_of(await client.get("/api/batches", headers=alice.headers)),
        {"batches", "pagination"},
    )
    has(listed["pagination"], PAGINATION)
    for item in listed["batches"]:
        has(item, BATCH)
    rows = has(
        data_of(await client.get(f"/api/batches/{batch['id']}/rows", headers=alice.headers)),
        {"rows", "pagination"},
    )
    for row in rows["rows"]:
        assert has(row, ROW)["status"] == "completed"
    executions = data_of(
        await client.get("/api/executions", params={"batch_id": batch["id"]}, headers=alice.headers)
    )
    for item in executions["executions"]:
        assert has(item, SUMMARY | {"batch_id"})["batch_id"] == batch["id"]
    ended_once = await client.post(f"/api/batches/{batch['id']}/cancel", headers=alice.headers)
    assert error_of(ended_once, 409)["code"] == "BATCH_ENDED"
    missing = await client.get("/api/batches/nope", headers=alice.headers)
    assert error_of(missing, 404)["code"] == "NOT_FOUND"
