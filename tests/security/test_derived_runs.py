"""Runs derived from an earlier one, attacked: another tenant's execution or workflow is
a 404 on every route, what a run reuses never comes from the client, and every size and
count is bounded."""

from __future__ import annotations

from typing import Any

import httpx
from nats.aio.client import Client

from flowmaestro.events import ExecutionStarted
from flowmaestro.runtime import ExecutionLog
from tests.integration.gateway.test_executions import finished
from tests.support.gateway import User, data_of, error_of

ECHO = {
    "nodes": {
        "start": {"id": "start", "type": "input", "data": {"schema": {}}},
        "a": {"id": "a", "type": "echo", "data": {"value": "one"}},
        "b": {"id": "b", "type": "echo", "data": {"value": "${a.output}"}},
        "result": {"id": "result", "type": "output", "data": {"output": "${b.output}"}},
    },
    "edges": [
        {"id": "e1", "source": "start", "target": "a"},
        {"id": "e2", "source": "a", "target": "b"},
        {"id": "e3", "source": "b", "target": "result"},
    ],
}


async def ended_run(client: httpx.AsyncClient, user: User) -> tuple[str, str]:
    """A stored echo workflow and one finished run of it: (workflow id, execution id)."""
    body = {"name": "echo", "definition": ECHO}
    wid = data_of(await client.post("/api/workflows", json=body, headers=user.headers), 201)["id"]
    run = {"workflow_id": wid, "inputs": {}}
    started = data_of(
        await client.post("/api/workflows/execute", json=run, headers=user.headers), 202
    )
    await finished(client, user, started["execution_id"])
    return wid, started["execution_id"]


async def call(
    client: httpx.AsyncClient, user: User, method: str, path: str, body: Any = None
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=user.headers)


async def test_another_tenants_execution_and_workflow_are_not_found(
    client: httpx.AsyncClient, alice: User, mallory: User
) -> None:
    wid, eid = await ended_run(client, alice)
    own_wid, own_eid = await ended_run(client, mallory)
    attempts = [
        ("POST", f"/api/executions/{eid}/rerun", None),
        ("POST", f"/api/executions/{eid}/retry", {"node_id": "b"}),
        ("POST", f"/api/executions/{eid}/replay", {"definition": ECHO, "dry": True}),
        ("POST", f"/api/executions/{eid}/fork", {"at_seq": 1}),
        ("GET", f"/api/executions/{eid}/report", None),
        ("POST", f"/api/workflows/{wid}/nodes/b/test", {"inputs": {}}),
        # her recorded run as the inputs of a node of his own workflow
        ("POST", f"/api/workflows/{own_wid}/nodes/b/test", {"execution_id": eid}),
    ]
    for method, path, body in attempts:
        error = error_of(await call(client, mallory, method, path, body), 404)
        assert eid not in str(error.get("details") or ""), path
    # and his own work still goes through the same routes
    data_of(await call(client, mallory, "POST", f"/api/executions/{own_eid}/rerun"), 202)


async def test_what_a_run_reuses_never_comes_from_the_client(
    client: httpx.AsyncClient, mallory: User, engine: Client
) -> None:
    wid, eid = await ended_run(client, mallory)
    forged = {"execution_id": eid, "kind": "fork", "reuse": {"a": {"attempt": 1, "output": "x"}}}
    body = {"workflow_id": wid, "inputs": {}, "origin": forged}
    response = await client.post("/api/workflows/execute", json=body, headers=mallory.headers)
    if response.status_code == 202:
        started = (await ExecutionLog(engine).read(data_of(response, 202)["execution_id"]))[0][1]
        assert isinstance(started, ExecutionStarted) and started.origin is None
    else:
        error_of(response, 400)
    records = await ExecutionLog(engine).read(eid)
    fork = {"at_seq": len(records), "reuse": {"a": {"attempt": 1, "output": "x"}}}
    forked = data_of(await call(client, mallory, "POST", f"/api/executions/{eid}/fork", fork), 202)
    first = (await ExecutionLog(engine).read(forked["execution_id"]))[0][1]
    assert isinstance(first, ExecutionStarted) and first.origin is not None
    assert first.origin.reuse["a"].output == "one", "a reused result came from the client"


async def test_every_size_and_count_is_bounded(client: httpx.AsyncClient, mallory: User) -> None:
    wid, eid = await ended_run(client, mallory)
    base = f"/api/executions/{eid}"
    refused = [
        (f"{base}/fork", {"at_seq": 0}, 400),
        (f"{base}/fork", {"at_seq": 10_000}, 400),
        (f"{base}/fork", {"at_seq": 100_001}, 400),
        (f"{base}/fork", {"at_seq": 2, "set": {"a": 1, "b": 2}}, 400),
        (f"{base}/fork", {"at_seq": 2, "set": {"nope": 1}}, 400),
        (f"{base}/fork", {"at_seq": 2, "set": {"a": "x" * 600_000}}, 413),
        (f"{base}/retry", {"node_id": "nope"}, 404),
        (f"{base}/retry", {"node_id": "x" * 201}, 400),
        (f"{base}/replay", {"definition": ECHO, "version": 1}, 400),
        (f"{base}/replay", {}, 400),
        (f"{base}/replay", {"definition": {"nodes": {"a": {"type": "nope"}}}}, 400),
        (f"/api/workflows/{wid}/nodes/b/test", {}, 400),
        (f"/api/workflows/{wid}/nodes/b/test", {"execution_id": eid, "inputs": {}}, 400),
        (f"/api/workflows/{wid}/nodes/b/test", {"inputs": {"result": 1}}, 400),
        (f"/api/workflows/{wid}/nodes/b/test", {"inputs": {f"n{i}": 1 for i in range(501)}}, 400),
        (f"/api/workflows/{wid}/nodes/b/test", {"inputs": {"a": "x" * 600_000}}, 413),
        (f"/api/workflows/{wid}/nodes/nope/test", {"inputs": {}}, 404),
        (
            f"/api/workflows/{wid}/nodes/b/test",
            {"inputs": {}, "workflow_inputs": {"x": "y" * 1_100_000}},
            413,
        ),
    ]
    for path, body, status in refused:
        error = error_of(await call(client, mallory, "POST", path, body), status)
        assert error["code"], (path, body)
