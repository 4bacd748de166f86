"""Runs derived from an earlier one, through the gateway and the real engine: re-run,
retry from a failed node, replay against a changed definition with its report, fork with
a replaced output, and testing one node. The fake model server counts the calls, which
proves that reused nodes called nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.base import Reply
from tests.fakes.openai_server import FakeOpenAI
from tests.integration.gateway.test_executions import finished
from tests.integration.nodes import conftest as node_fakes
from tests.support.gateway import User, data_of, error_of

# the fake model server (one per session) and the executors' leave to reach it; taken
# as they are, since the gateway's fixtures (and its one projector) must stay this
# folder's own
_openai = node_fakes._openai
fake_openai = node_fakes.fake_openai
allow_loopback = node_fakes.allow_loopback

pytestmark = pytest.mark.integration


def chain(base_url: str, polish: str = "Polish ${a.output.text}") -> dict[str, Any]:
    """`start → a (llm) → b (llm) → result`: two model calls per full run."""
    return {
        "nodes": {
            "start": {
                "id": "start",
                "type": "input",
                "data": {"schema": {"topic": {"type": "string"}}},
            },
            "a": {
                "id": "a",
                "type": "llm",
                "data": {"base_url": base_url, "prompt": "Outline ${inputs.topic}"},
            },
            "b": {"id": "b", "type": "llm", "data": {"base_url": base_url, "prompt": polish}},
            "result": {"id": "result", "type": "output", "data": {"output": "${b.output.text}"}},
        },
        "edges": [
            {"id": "e1", "source": "start", "target": "a"},
            {"id": "e2", "source": "a", "target": "b"},
            {"id": "e3", "source": "b", "target": "result"},
        ],
    }


async def stored(client: httpx.AsyncClient, user: User, definition: dict[str, Any]) -> str:
    response = await client.post(
        "/api/workflows", json={"name": "chain", "definition": definition}, headers=user.headers
    )
    return data_of(response, 201)["id"]


async def first_run(
    client: httpx.AsyncClient, user: User, fake: FakeOpenAI, *replies: Reply
) -> tuple[str, dict[str, Any]]:
    """Store the chain, run it once (the model answering `replies` first); returns the
    workflow id and the ended run."""
    wid = await stored(client, user, chain(fake.base_url))
    fake.script(*replies)
    body = {"workflow_id": wid, "inputs": {"topic": "owls"}}
    started = data_of(
        await client.post("/api/workflows/execute", json=body, headers=user.headers), 202
    )
    return wid, await finished(client, user, started["execution_id"])


def prompts(fake: FakeOpenAI) -> list[str]:
    return [r.json()["messages"][-1]["content"] for r in fake.requests]


async def post(
    client: httpx.AsyncClient, user: User, path: str, body: Any = None, status: int = 202
) -> dict[str, Any]:
    return data_of(await client.post(path, json=body, headers=user.headers), status)


async def test_retry_from_a_failed_node_calls_the_model_only_for_that_node(
    client: httpx.AsyncClient, alice: User, fake_openai: FakeOpenAI
) -> None:
    _, original = await first_run(
        client, alice, fake_openai, Reply(text="three parts"), Reply(status=401)
    )
    assert original["status"] == "failed" and original["nodes"]["b"]["status"] == "failed"
    assert len(fake_openai.requests) == 2
    retried = await post(client, alice, f"/api/executions/{original['id']}/retry", {"node_id": "b"})
    assert retried["origin_id"] == original["id"] and retried["kind"] == "retry"
    assert set(retried["reusable"]) == {"start", "a"}
    detail = await finished(client, alice, retried["execution_id"])
    assert detail["status"] == "completed"
    assert detail["origin"] == {"execution_id": original["id"], "kind": "retry", "node_id": "b"}
    assert detail["outputs"] == {"result": "echo: Polish three parts"}
    assert prompts(fake_openai)[2:] == ["Polish three parts"], "a reused node called the model"


async def test_rerun_runs_everything_again_linked_to_the_original(
    client: httpx.AsyncClient, alice: User, fake_openai: FakeOpenAI
) -> None:
    _, original = await first_run(client, alice, fake_openai)
    again = await post(client, alice, f"/api/executions/{original['id']}/rerun")
    assert again["kind"] == "rerun" and again["reusable"] == []
    detail = await finished(client, alice, again["execution_id"])
    assert detail["status"] == "completed" and detail["inputs"] == {"topic": "owls"}
    assert len(fake_openai.requests) == 4


async def test_replay_against_a_changed_definition_and_its_report(
    client: httpx.AsyncClient, alice: User, fake_openai: FakeOpenAI
) -> None:
    wid, original = await first_run(client, alice, fake_openai)
    path = f"/api/executions/{original['id']}/replay"
    changed = chain(fake_openai.base_url, polish="Shorten ${a.output.text}")
    dry = await post(client, alice, path, {"definition": changed, "dry": True}, status=200)
    assert dry["dry"] is True and dry.get("execution") is None
    assert dry["plan"]["reuse"] == ["start", "a"]
    assert dry["plan"]["run"] == ["b", "result"] and dry["plan"]["changed"] == ["b"]
    assert len(fake_openai.requests) == 2, "a dry replay ran something"

    replayed = await post(client, alice, path, {"definition": changed})
    run = replayed["execution"]
    detail = await finished(client, alice, run["execution_id"])
    assert detail["status"] == "completed"
    assert prompts(fake_openai)[2:] == ["Shorten echo: Outline owls"]
    report = data_of(
        await client.get(f"/api/executions/{run['execution_id']}/report", headers=alice.headers)
    )
    by_node = {n["node_id"]: n for n in report["nodes"]}
    assert by_node["a"]["verdict"] == "same" and by_node["a"]["reused"] is True
    assert by_node["b"]["verdict"] == "changed"
    assert {
        "op": "replace",
        "path": "/text",
        "old": "echo: Polish echo: Outline owls",
        "value": "echo: Shorten echo: Outline owls",
    } in by_node["b"]["diff"]
    assert report["counts"]["same"] == 2 and report["origin_id"] == original["id"]

    # a stored version of the same workflow works the same way
    await client.put(f"/api/workflows/{wid}", json={"definition": changed}, headers=alice.headers)
    by_version = await post(client, alice, path, {"version": 2, "dry": True}, status=200)
    assert by_version["plan"]["changed"] == ["b"]
    not_derived = error_of(
        await client.get(f"/api/executions/{original['id']}/report", headers=alice.headers), 409
    )
    assert not_derived["code"] == "NOT_DERIVED"


async def test_fork_with_a_replaced_output_runs_only_what_depends_on_it(
    client: httpx.AsyncClient, alice: User, fake_openai: FakeOpenAI
) -> None:
    _, original = await first_run(client, alice, fake_openai)
    logs = data_of(
        await client.get(f"/api/executions/{original['id']}/logs", headers=alice.headers)
    )["logs"]
    body = {"at_seq": len(logs), "set": {"a": {"text": "forced"}}}
    forked = await post(client, alice, f"/api/executions/{original['id']}/fork", body)
    assert forked["kind"] == "fork"
    detail = await finished(client, alice, forked["execution_id"])
    assert detail["outputs"] == {"result": "echo: Polish forced"}
    assert prompts(fake_openai)[2:] == ["Polish forced"]


async def test_testing_one_node_on_recorded_and_on_edited_inputs(
    client: httpx.AsyncClient, alice: User, fake_openai: FakeOpenAI
) -> None:
    wid, original = await first_run(client, alice, fake_openai)
    path = f"/api/workflows/{wid}/nodes/b/test"
    recorded = await post(client, alice, path, {"execution_id": original["id"]})
    assert recorded["test"] is True and recorded["kind"] == "test"
    detail = await finished(client, alice, recorded["execution_id"])
    assert detail["nodes"]["b"]["status"] == "completed"
    assert detail["nodes"]["b"]["output"]["text"] == "echo: Polish echo: Outline owls"
    assert detail["nodes"]["result"]["status"] == "skipped"
    assert prompts(fake_openai)[2:] == ["Polish echo: Outline owls"], "more than b ran"

    edited = await post(client, alice, path, {"inputs": {"a": {"text": "by hand"}}})
    detail = await finished(client, alice, edited["execution_id"])
    assert detail["nodes"]["b"]["output"]["text"] == "echo: Polish by hand"
    assert prompts(fake_openai)[3:] == ["Polish by hand"]


async def test_a_retry_reuses_a_large_output_kept_by_reference(
    client: httpx.AsyncClient, alice: User
) -> None:
    big = "x" * 300_000  # over the inline limit: the object store keeps it
    definition = {
        "nodes": {
            "a": {"id": "a", "type": "echo", "data": {"value": big}},
            "b": {
                "id": "b",
                "type": "transform",
                "data": {"expression": "$length(x)", "input": {"x": "${a.output}"}},
            },
            "result": {"id": "result", "type": "output", "data": {"output": "${b.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "a", "target": "b"},
            {"id": "e2", "source": "b", "target": "result"},
        ],
    }
    wid = await stored(client, alice, definition)
    body = {"workflow_id": wid, "inputs": {}}
    started = await post(client, alice, "/api/workflows/execute", body)
    original = await finished(client, alice, started["execution_id"])
    assert original["status"] == "completed" and original["nodes"]["a"]["output_ref"]
    retried = await post(client, alice, f"/api/executions/{original['id']}/retry", {"node_id": "b"})
    assert retried["reusable"] == ["a"]
    detail = await finished(client, alice, retried["execution_id"])
    assert detail["status"] == "completed", detail["error"]
    assert detail["nodes"]["a"]["reused_from"]["execution_id"] == original["id"]
    assert detail["nodes"]["a"]["output_ref"] == original["nodes"]["a"]["output_ref"]
    assert detail["outputs"] == {"result": 300_000}


async def test_a_replayed_definition_may_call_a_workflow_the_original_did_not(
    client: httpx.AsyncClient, alice: User
) -> None:
    inner = {
        "nodes": {
            "v": {"id": "v", "type": "echo", "data": {"value": "inner"}},
            "out": {"id": "out", "type": "output", "data": {"output": "${v.output}"}},
        },
        "edges": [{"id": "e", "source": "v", "target": "out"}],
    }
    inner_id = await stored(client, alice, inner)
    outer = {"nodes": {"a": {"id": "a", "type": "echo", "data": {"value": 1}}}, "edges": []}
    wid = await stored(client, alice, outer)
    started = await post(
        client, alice, "/api/workflows/execute", {"workflow_id": wid, "inputs": {}}
    )
    original = await finished(client, alice, started["execution_id"])
    calling = {
        "nodes": {
            **outer["nodes"],
            "sub": {"id": "sub", "type": "subworkflow", "data": {"workflow_id": inner_id}},
        },
        "edges": [{"id": "e", "source": "a", "target": "sub"}],
    }
    path = f"/api/executions/{original['id']}/replay"
    replayed = await post(client, alice, path, {"definition": calling})
    assert replayed["plan"]["added"] == ["sub"] and replayed["plan"]["reuse"] == ["a"]
    detail = await finished(client, alice, replayed["execution"]["execution_id"])
    assert detail["status"] == "completed", detail["error"]
    assert detail["nodes"]["sub"]["output"] == "inner"
