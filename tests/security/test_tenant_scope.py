"""Everything a node touches is its owner's: a name or id from another tenant is simply
"not found", and the owner's data stays as it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.support.gateway import User, data_of
from tests.support.runs import bystander, run_to_end

pytestmark = pytest.mark.usefixtures("allow_loopback")

CSV = b"name,secret\nalice,42\n"


def one_node(node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`node_type` as the only node, its output the workflow's output `out`."""
    return {
        "nodes": {
            "n": {"id": "n", "type": node_type, "data": data},
            "out": {"id": "out", "type": "output", "data": {"output": "${n.output}"}},
        },
        "edges": [{"id": "e", "source": "n", "target": "out"}],
    }


async def upload(client: httpx.AsyncClient, user: User, data: bytes = CSV) -> str:
    response = await client.post(
        "/api/files", files={"data": ("secret.csv", data, "text/csv")}, headers=user.headers
    )
    return data_of(response, 201)["id"]


async def model_integration(client: httpx.AsyncClient, user: User, fake: FakeOpenAI) -> str:
    """The user's own OpenAI-compatible integration, pointing at the fake."""
    body = {
        "name": f"models-{user.id[:8]}",
        "type": "openai",
        "config": {"base_url": fake.base_url},
        "credentials": {"api_key": "sk-test"},
    }
    response = await client.post("/api/integrations", json=body, headers=user.headers)
    return data_of(response, 201)["id"]


def failure(detail: dict[str, Any]) -> str:
    assert detail["status"] == "failed", detail
    return detail["nodes"]["n"]["error"]["message"]


async def test_no_node_reads_another_users_upload(
    client: httpx.AsyncClient, alice: User, mallory: User, bob: User, fake_openai: FakeOpenAI
) -> None:
    file_id = await upload(client, alice)
    models = await model_integration(client, mallory, fake_openai)
    access = {"provider": "openai_compatible", "integration_id": models, "model": "m"}
    attacks = [
        one_node("file", {"file_id": file_id}),
        one_node("vision", {**access, "image_file": file_id}),
        one_node("audio", {**access, "audio_file": file_id}),
    ]
    async with bystander(client, bob):
        for definition in attacks:
            assert failure(await run_to_end(client, mallory, definition)) == f"no file {file_id!r}"
    assert not any("sk-test" in r.headers.get("authorization", "") for r in fake_openai.requests)
    own = await run_to_end(client, alice, one_node("file", {"file_id": file_id}))
    assert own["status"] == "completed" and own["outputs"]["out"]["rows"] == [
        {"name": "alice", "secret": "42"}
    ]


async def test_a_file_a_node_made_is_its_owners_alone(
    client: httpx.AsyncClient, alice: User, mallory: User, bob: User, fake_openai: FakeOpenAI
) -> None:
    speak = {
        "provider": "openai_compatible",
        "integration_id": await model_integration(client, alice, fake_openai),
        "model": "m",
        "operation": "speak",
        "text": "the launch code is 42",
    }
    spoken = await run_to_end(client, alice, one_node("audio", speak))
    name = spoken["outputs"]["out"]["file"]
    access = {
        "provider": "openai_compatible",
        "integration_id": await model_integration(client, mallory, fake_openai),
        "model": "m",
    }
    async with bystander(client, bob):
        for definition in (
            one_node("audio", {**access, "audio_file": name}),
            one_node("file", {"file_id": name}),
        ):
            assert failure(await run_to_end(client, mallory, definition)) == f"no file {name!r}"
    # The owner reads it back by the same name.
    own = await run_to_end(client, alice, one_node("file", {"file_id": name, "format": "json"}))
    assert own["nodes"]["n"]["error"]["kind"] == "parse"  # found (audio is not JSON)


async def test_collections_are_namespaced_by_owner(
    client: httpx.AsyncClient, alice: User, mallory: User, bob: User, fake_openai: FakeOpenAI
) -> None:
    def search(integration_id: str, **data: Any) -> dict[str, Any]:
        access = {"provider": "openai_compatible", "integration_id": integration_id, "model": "m"}
        return one_node("semantic_search", {**access, "collection": "notes", **data})

    alices = await model_integration(client, alice, fake_openai)
    mallorys = await model_integration(client, mallory, fake_openai)
    indexed = await run_to_end(
        client, alice, search(alices, operation="index", documents=["alice's private note"])
    )
    assert indexed["status"] == "completed", indexed
    async with bystander(client, bob):
        read = await run_to_end(client, mallory, search(mallorys, query="note"))
        assert failure(read).startswith("no collection 'notes'")
        overwrite = search(mallorys, operation="index", documents=["mallory's planted text"])
        assert (await run_to_end(client, mallory, overwrite))["status"] == "completed"
    mine = await run_to_end(client, alice, search(alices, query="note"))
    assert [r["text"] for r in mine["outputs"]["out"]["results"]] == ["alice's private note"]


async def test_the_node_cache_never_answers_another_owner(
    client: httpx.AsyncClient, alice: User, mallory: User, bob: User
) -> None:
    file_id = await upload(client, alice)
    cached = one_node("file", {"file_id": file_id, "cache": {"ttl_seconds": 600}})
    first = await run_to_end(client, alice, cached)
    assert first["status"] == "completed", first
    async with bystander(client, bob):
        # The same node, config and inputs: before owners scoped the cache, this answered
        # with Alice's parsed file.
        assert failure(await run_to_end(client, mallory, cached)) == f"no file {file_id!r}"
    again = await run_to_end(client, alice, cached)
    assert again["outputs"] == first["outputs"]


async def test_large_outputs_are_stored_under_their_owner(
    client: httpx.AsyncClient, alice: User, mallory: User
) -> None:
    big = one_node("code", {"code": "return 'x'.repeat(300000)"})
    detail = await run_to_end(client, alice, big)
    assert detail["status"] == "completed", detail
    assert detail["nodes"]["n"]["output_ref"].startswith(f"{alice.id}/{detail['id']}/n/")
    hidden = await client.get(f"/api/executions/{detail['id']}", headers=mallory.headers)
    assert hidden.status_code == 404
