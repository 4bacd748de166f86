"""Runs over real HTTP: execute, read back, logs, test runs, cancel, and answering input."""

from __future__ import annotations

import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStarted
from flowmaestro.runtime import ExecutionLog, tracing
from tests.integration.gateway.conftest import example
from tests.support.gateway import User, data_of, error_of, eventually

pytestmark = pytest.mark.integration


async def workflow(client: httpx.AsyncClient, user: User, name: str) -> str:
    """Create a workflow from an example; returns its id."""
    response = await client.post(
        "/api/workflows", json={"name": name, "definition": example(name)}, headers=user.headers
    )
    return data_of(response, 201)["id"]


async def execute(
    client: httpx.AsyncClient, user: User, workflow_id: str, inputs: dict, **extra: object
) -> dict:
    """Start a run; returns the start record."""
    response = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": workflow_id, "inputs": inputs, **extra},
        headers=user.headers,
    )
    return data_of(response, 202)


async def finished(client: httpx.AsyncClient, user: User, execution_id: str) -> dict:
    """Poll until the run has ended and its log has been projected into the read model."""

    async def probe() -> dict | None:
        detail = data_of(await client.get(f"/api/executions/{execution_id}", headers=user.headers))
        if detail["status"] in ("pending", "running"):
            return None
        # the detail may come straight from the log; wait for the projection too
        logs = data_of(
            await client.get(f"/api/executions/{execution_id}/logs", headers=user.headers)
        )["logs"]
        ended = ("execution.completed", "execution.failed", "execution.cancelled")
        return detail if logs and logs[-1]["event"] in ended else None

    return await eventually(probe)


async def test_execute_and_read_back(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")
    started = await execute(client, alice, wid, {"amount": 150})
    assert started["status"] == "pending" and started["workflow_id"] == wid
    detail = await finished(client, alice, started["execution_id"])
    assert detail["status"] == "completed"
    assert detail["outputs"] == {"result": "large order of 150"}
    assert detail["inputs"] == {"amount": 150}
    assert set(detail["definition"]["nodes"]) == set(example("branch")["nodes"])
    assert detail["nodes"]["big"]["status"] == "completed"
    assert detail["nodes"]["small"]["status"] == "skipped"
    big = detail["nodes"]["big"]
    assert big["attempts"][0]["attempt"] == 1 and big["started_at"] and big["completed_at"]
    assert detail["duration_ms"] > 0 and detail["completed_at"]

    logs = data_of(
        await client.get(f"/api/executions/{started['execution_id']}/logs", headers=alice.headers)
    )["logs"]
    assert logs[0]["event"] == "execution.started" and logs[-1]["event"] == "execution.completed"
    assert [e["seq"] for e in logs] == sorted(e["seq"] for e in logs)
    only_big = data_of(
        await client.get(
            f"/api/executions/{started['execution_id']}/logs",
            params={"node_id": "big"},
            headers=alice.headers,
        )
    )["logs"]
    assert only_big and {e["node_id"] for e in only_big} == {"big"}
    listed = data_of(
        await client.get("/api/executions", params={"workflow_id": wid}, headers=alice.headers)
    )
    assert [e["id"] for e in listed["executions"]] == [started["execution_id"]]
    assert listed["pagination"]["total"] == 1


async def test_inputs_are_validated(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")
    response = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": wid, "inputs": {"amount": "lots"}},
        headers=alice.headers,
    )
    error = error_of(response, 400)
    assert "amount" in error["details"][0]["field"]
    missing = await client.post(
        "/api/workflows/execute", json={"workflow_id": wid, "inputs": {}}, headers=alice.headers
    )
    assert error_of(missing, 400)["details"]
    error_of(
        await client.post(
            "/api/workflows/execute",
            json={"workflow_id": "nope", "inputs": {}},
            headers=alice.headers,
        ),
        404,
    )


async def test_failed_run_reports_its_error(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "retry")
    started = await execute(client, alice, wid, {})
    detail = await finished(client, alice, started["execution_id"])
    assert detail["status"] == "completed"
    flaky = detail["nodes"]["flaky"]
    assert [a["status"] for a in flaky["attempts"]] == ["failed", "failed", "completed"]
    errors = data_of(
        await client.get(
            f"/api/executions/{started['execution_id']}/logs",
            params={"level": "error"},
            headers=alice.headers,
        )
    )["logs"]
    assert [e["event"] for e in errors] == ["node.failed", "node.failed"]
    for spelling in ("warn", "warning"):
        warnings = data_of(
            await client.get(
                f"/api/executions/{started['execution_id']}/logs",
                params={"level": spelling},
                headers=alice.headers,
            )
        )["logs"]
        assert [e["event"] for e in warnings] == ["node.retrying", "node.retrying"]
        assert {e["level"] for e in warnings} == {"warn"}


async def test_test_runs_are_listed_apart(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")
    test_run = data_of(
        await client.post(
            f"/api/workflows/{wid}/test", json={"inputs": {"amount": 5}}, headers=alice.headers
        ),
        202,
    )
    assert test_run["test"] is True
    await finished(client, alice, test_run["execution_id"])
    normal = data_of(
        await client.get("/api/executions", params={"workflow_id": wid}, headers=alice.headers)
    )
    tests = data_of(
        await client.get(
            "/api/executions", params={"workflow_id": wid, "test": "true"}, headers=alice.headers
        )
    )
    assert normal["executions"] == []
    assert [e["id"] for e in tests["executions"]] == [test_run["execution_id"]]


async def test_run_an_older_version(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")
    changed = example("branch")
    changed["nodes"]["big"]["data"]["value"] = "v2 ${inputs.amount}"
    await client.put(f"/api/workflows/{wid}", json={"definition": changed}, headers=alice.headers)
    v1 = await execute(client, alice, wid, {"amount": 200}, version=1)
    v2 = await execute(client, alice, wid, {"amount": 200})
    assert (v1["workflow_version"], v2["workflow_version"]) == (1, 2)
    assert (await finished(client, alice, v1["execution_id"]))["outputs"] == {
        "result": "large order of 200"
    }
    assert (await finished(client, alice, v2["execution_id"]))["outputs"] == {"result": "v2 200"}


async def test_what_cannot_be_run_is_not_found(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    body = {"workflow_id": wid, "inputs": {"amount": 1}}

    async def start(user: User, **extra: object) -> httpx.Response:
        return await client.post(
            "/api/workflows/execute", json={**body, **extra}, headers=user.headers
        )

    assert "no version 7" in error_of(await start(alice, version=7), 404)["message"]
    assert "no workflow" in error_of(await start(bob), 404)["message"]
    assert "no workflow" in error_of(await start(bob, version=1), 404)["message"]
    await client.delete(f"/api/workflows/{wid}", headers=alice.headers)
    assert "no workflow" in error_of(await start(alice), 404)["message"]


async def test_cancel(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "cancel")
    started = await execute(client, alice, wid, {})
    eid = started["execution_id"]
    data_of(
        await client.post(
            f"/api/executions/{eid}/cancel", json={"reason": "enough"}, headers=alice.headers
        ),
        202,
    )
    detail = await finished(client, alice, eid)
    assert detail["status"] == "cancelled"
    again = await client.post(f"/api/executions/{eid}/cancel", headers=alice.headers)
    assert error_of(again, 409)["code"] == "EXECUTION_ENDED"


async def test_answer_a_human_input_node(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 30}))["execution_id"]
    path = f"/api/executions/{eid}/nodes/approve/input"

    async def waiting() -> bool:
        detail = data_of(await client.get(f"/api/executions/{eid}", headers=alice.headers))
        return detail["nodes"]["approve"]["status"] == "waiting"

    await eventually(waiting)
    invalid = await client.post(path, json={"input": {"comment": 5}}, headers=alice.headers)
    details = error_of(invalid, 400)["details"]
    assert {d["node_id"] for d in details} == {"approve"}
    assert any((d["field"] or "").endswith("approved") for d in details), details
    not_a_form = await client.post(
        f"/api/executions/{eid}/nodes/start/input", json={"input": {}}, headers=alice.headers
    )
    error_of(not_a_form, 404)
    answered = data_of(
        await client.post(
            path, json={"input": {"approved": True, "comment": "ok"}}, headers=alice.headers
        ),
        202,
    )
    assert answered["node_id"] == "approve"
    detail = await finished(client, alice, eid)
    assert detail["outputs"] == {"refund": "refunded 30"}
    late = await client.post(path, json={"input": {"approved": False}}, headers=alice.headers)
    assert error_of(late, 409)["code"] == "NOT_WAITING"


async def test_subworkflows_by_id_are_attached_to_the_run(
    client: httpx.AsyncClient, alice: User
) -> None:
    child = {
        "nodes": {"hi": {"id": "hi", "type": "output", "data": {"output": "hi ${inputs.item}"}}},
        "edges": [],
    }
    made = await client.post(
        "/api/workflows", json={"name": "child", "definition": child}, headers=alice.headers
    )
    child_id = data_of(made, 201)["id"]
    parent = {
        "nodes": {
            "each": {
                "id": "each",
                "type": "loop",
                "data": {"items": ["a", "b"], "workflow_id": child_id},
            },
            "out": {"id": "out", "type": "output", "data": {"output": "${each.output.results}"}},
        },
        "edges": [{"id": "1", "source": "each", "target": "out"}],
    }
    made = await client.post(
        "/api/workflows", json={"name": "parent", "definition": parent}, headers=alice.headers
    )
    parent_id = data_of(made, 201)["id"]
    started = await execute(client, alice, parent_id, {})
    detail = await finished(client, alice, started["execution_id"])
    assert detail["outputs"] == {"out": ["hi a", "hi b"]}

    parent["nodes"]["each"]["data"]["workflow_id"] = "no-such-workflow"
    made = await client.post(
        "/api/workflows", json={"name": "broken", "definition": parent}, headers=alice.headers
    )
    broken = data_of(made, 201)["id"]
    refused = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": broken, "inputs": {}},
        headers=alice.headers,
    )
    error = error_of(refused, 400)
    assert any(d.get("node_id") == "each" for d in error["details"]), error


async def test_upload_a_file_and_parse_it_in_a_run(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    csv = b"name,score\nada,3\nbob,5\n"
    uploaded = data_of(
        await client.post(
            "/api/files",
            files={"data": ("scores.csv", csv, "text/csv")},
            headers=alice.headers,
        ),
        201,
    )
    assert uploaded["size"] == len(csv) and uploaded["name"] == "scores.csv"
    described = await client.get(f"/api/files/{uploaded['id']}", headers=alice.headers)
    assert data_of(described)["content_type"] == "text/csv"
    hidden = await client.get(f"/api/files/{uploaded['id']}", headers=bob.headers)
    assert error_of(hidden, 404)["code"]
    definition = {
        "nodes": {
            "read": {"id": "read", "type": "file", "data": {"file_id": uploaded["id"]}},
            "out": {"id": "out", "type": "output", "data": {"output": "${read.output.rows}"}},
        },
        "edges": [{"id": "1", "source": "read", "target": "out"}],
    }
    made = await client.post(
        "/api/workflows", json={"name": "read", "definition": definition}, headers=alice.headers
    )
    started = await execute(client, alice, data_of(made, 201)["id"], {})
    detail = await finished(client, alice, started["execution_id"])
    rows = [{"name": "ada", "score": "3"}, {"name": "bob", "score": "5"}]
    assert detail["outputs"] == {"out": rows}


async def test_a_callers_trace_context_becomes_the_executions(
    client: httpx.AsyncClient, alice: User, engine: Client
) -> None:
    """With tracing off in the gateway, a `traceparent` sent with the start request is the
    execution's trace (stored in `execution.started`); without one, the run gets its own."""
    wid = await workflow(client, alice, "branch")
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": wid, "inputs": {"amount": 5}},
        headers={**alice.headers, "traceparent": caller},
    )
    traced = data_of(response, 202)["execution_id"]
    untraced = (await execute(client, alice, wid, {"amount": 5}))["execution_id"]
    log = ExecutionLog(engine)
    (_, first), *_ = await log.read(traced)
    assert isinstance(first, ExecutionStarted) and first.traceparent == caller
    (_, other), *_ = await log.read(untraced)
    assert isinstance(other, ExecutionStarted) and other.traceparent
    assert tracing.trace_id_of(other.traceparent) not in (None, tracing.trace_id_of(caller))
