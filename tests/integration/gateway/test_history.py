"""`/verify`, `/diff/{b}` and `/effects` over real HTTP: the caller's runs only (another
tenant's is a 404), bounds refused with the error envelope, and what each answers."""

from __future__ import annotations

import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events.names import EXEC_STREAM, command_key
from flowmaestro.runtime import ExecutionLog
from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.gateway import User, data_of, error_of

pytestmark = pytest.mark.integration

REPORT = {"execution_id", "ok", "messages", "stamps", "ended", "verified_through"}
REPORT |= {"first_bad_seq", "detected_at_seq", "reason", "uncovered", "head"}
DIFF = {"a", "b", "workflow_a", "workflow_b", "same_definition", "status_a", "status_b"}
DIFF |= {"duration_ms_a", "duration_ms_b", "tokens_a", "tokens_b", "cost_usd_a", "cost_usd_b"}
DIFF |= {"changed_nodes", "nodes"}
NODE = {"node_id", "type", "only_in", "changed", "status_a", "status_b", "attempts_a"}
NODE |= {"attempts_b", "duration_ms_a", "duration_ms_b", "tokens_a", "tokens_b"}
NODE |= {"cost_usd_a", "cost_usd_b", "output_changes", "output_truncated"}
PREVIEW = {"execution_id", "from_node", "into", "rerun", "effects", "unknown"}
EFFECT = {"node_id", "type", "idempotency_key", "attempt", "status", "via"}


async def run(client: httpx.AsyncClient, user: User, amount: int, wid: str | None = None) -> str:
    wid = wid or await workflow(client, user, "branch")
    execution_id = (await execute(client, user, wid, {"amount": amount}))["execution_id"]
    await finished(client, user, execution_id)
    return execution_id


async def test_verify_answers_the_chain_and_spots_a_lost_end(
    client: httpx.AsyncClient, alice: User, bob: User, engine: Client
) -> None:
    execution_id = await run(client, alice, 150)
    verify = f"/api/executions/{execution_id}/verify"
    report = data_of(await client.get(verify, headers=alice.headers))
    assert set(report) == REPORT  # as documented
    assert report["ok"] and report["ended"] and report["stamps"] > 0
    assert report["first_bad_seq"] is None and len(report["head"]) == 64

    missing = await client.get(verify, headers=bob.headers)
    assert error_of(missing, 404)["code"] == "NOT_FOUND"

    # the operator removes the end: the log reads as running, the read model knows better
    entries = await ExecutionLog(engine).read_log(execution_id)
    for entry in entries:
        if b"execution.completed" in entry.data:
            await engine.jetstream().delete_msg(EXEC_STREAM, entry.seq)
    report = data_of(
        await client.get(f"/api/executions/{execution_id}/verify", headers=alice.headers)
    )
    assert not report["ok"] and "has no end" in report["reason"]


async def test_diff_compares_two_of_the_callers_runs(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    big, small = await run(client, alice, 150, wid), await run(client, alice, 50, wid)
    found = data_of(await client.get(f"/api/executions/{big}/diff/{small}", headers=alice.headers))
    assert set(found) == DIFF and all(set(n) == NODE for n in found["nodes"])
    assert found["a"] == big and found["b"] == small and found["same_definition"]
    nodes = {n["node_id"]: n for n in found["nodes"]}
    assert nodes["big"]["status_a"] == "completed" and nodes["big"]["status_b"] == "skipped"
    join = nodes["join"]
    assert join["changed"] and join["output_changes"][0]["op"] == "changed"

    few = await client.get(
        f"/api/executions/{big}/diff/{small}?max_changes=1", headers=alice.headers
    )
    assert all(len(n["output_changes"]) <= 1 for n in data_of(few)["nodes"])
    too_many = await client.get(
        f"/api/executions/{big}/diff/{small}?max_changes=100000", headers=alice.headers
    )
    assert error_of(too_many, 400)["code"] == "VALIDATION_ERROR"

    theirs = await run(client, bob, 150)
    for path in (f"{big}/diff/{theirs}", f"{theirs}/diff/{big}"):
        answer = await client.get(f"/api/executions/{path}", headers=alice.headers)
        assert error_of(answer, 404)["code"] == "NOT_FOUND"


async def test_effects_lists_what_a_run_from_a_node_would_repeat(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    definition = {
        "nodes": {
            "a": {"id": "a", "type": "echo", "data": {"value": 1}},
            "hook": {
                "id": "hook",
                "type": "http",
                "data": {"url": "https://example.invalid/x", "method": "POST"},
            },
        },
        "edges": [{"id": "e1", "source": "a", "target": "hook"}],
    }
    created = await client.post(
        "/api/workflows", json={"name": "fx", "definition": definition}, headers=alice.headers
    )
    wid = data_of(created, 201)["id"]
    execution_id = (await execute(client, alice, wid, {}))["execution_id"]
    await finished(client, alice, execution_id)  # the request fails: nothing listens there

    preview = data_of(
        await client.get(f"/api/executions/{execution_id}/effects?from=a", headers=alice.headers)
    )
    assert set(preview) == PREVIEW and preview["rerun"] == ["a", "hook"]
    (effect,) = preview["effects"]
    assert set(effect) == EFFECT
    assert effect["node_id"] == "hook" and effect["type"] == "http"
    assert effect["idempotency_key"] == command_key(execution_id, "hook", effect["attempt"])
    assert effect["attempt"] >= 2
    forked = data_of(
        await client.get(
            f"/api/executions/{execution_id}/effects?from=hook&into=fork-1", headers=alice.headers
        )
    )
    assert forked["effects"][0]["idempotency_key"] == command_key("fork-1", "hook", 1)

    unknown = await client.get(
        f"/api/executions/{execution_id}/effects?from=nope", headers=alice.headers
    )
    assert "no node 'nope'" in error_of(unknown, 404)["message"]
    for query in ("from=a&into=a.b", "from=a.b", "", f"from={'n' * 201}"):
        answer = await client.get(
            f"/api/executions/{execution_id}/effects?{query}", headers=alice.headers
        )
        assert error_of(answer, 400)["code"] == "VALIDATION_ERROR"
    theirs = await client.get(f"/api/executions/{execution_id}/effects?from=a", headers=bob.headers)
    assert error_of(theirs, 404)["code"] == "NOT_FOUND"
