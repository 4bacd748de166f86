"""Workflows and versions over real HTTP: create, list, update, versions, restore, delete."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.gateway.conftest import example
from tests.support.gateway import User, data_of, error_of

pytestmark = pytest.mark.integration


async def _create(client: httpx.AsyncClient, user: User, name: str, definition: dict) -> dict:
    return data_of(
        await client.post(
            "/api/workflows",
            json={"name": name, "description": "d", "definition": definition},
            headers=user.headers,
        ),
        201,
    )


async def test_workflow_lifecycle_and_versions(client: httpx.AsyncClient, alice: User) -> None:
    created = await _create(client, alice, "branch", example("branch"))
    wid = created["id"]
    assert created["version"] == 1 and set(created["definition"]["nodes"]) >= {"start", "check"}
    fetched = data_of(await client.get(f"/api/workflows/{wid}", headers=alice.headers))
    assert fetched == created

    renamed = data_of(
        await client.put(f"/api/workflows/{wid}", json={"name": "renamed"}, headers=alice.headers)
    )
    assert renamed["name"] == "renamed" and renamed["version"] == 1  # no definition change

    changed = example("branch")
    changed["nodes"]["big"]["data"]["value"] = "LARGE ${inputs.amount}"
    v2 = data_of(
        await client.put(
            f"/api/workflows/{wid}", json={"definition": changed}, headers=alice.headers
        )
    )
    assert v2["version"] == 2
    same = data_of(
        await client.put(
            f"/api/workflows/{wid}", json={"definition": changed}, headers=alice.headers
        )
    )
    assert same["version"] == 2  # an identical definition is not a new version

    versions = data_of(await client.get(f"/api/workflows/{wid}/versions", headers=alice.headers))
    assert [v["version"] for v in versions] == [2, 1]
    v1 = data_of(await client.get(f"/api/workflows/{wid}/versions/1", headers=alice.headers))
    assert v1["definition"] == created["definition"]

    restored = data_of(
        await client.post(f"/api/workflows/{wid}/versions/1/restore", headers=alice.headers), 201
    )
    assert restored["version"] == 3 and restored["definition"] == created["definition"]
    v3 = data_of(await client.get(f"/api/workflows/{wid}/versions/3", headers=alice.headers))
    assert v3["restored_from"] == 1
    error_of(await client.get(f"/api/workflows/{wid}/versions/9", headers=alice.headers), 404)

    deleted = await client.delete(f"/api/workflows/{wid}", headers=alice.headers)
    assert data_of(deleted) == {"id": wid, "deleted": True}
    error_of(await client.get(f"/api/workflows/{wid}", headers=alice.headers), 404)
    error_of(await client.delete(f"/api/workflows/{wid}", headers=alice.headers), 404)


async def test_invalid_definition_names_node_and_field(
    client: httpx.AsyncClient, alice: User
) -> None:
    broken = example("branch")
    broken["nodes"]["check"]["data"] = {"expression": 42}
    response = await client.post(
        "/api/workflows", json={"name": "bad", "definition": broken}, headers=alice.headers
    )
    error = error_of(response, 400)
    assert error["code"] == "VALIDATION_ERROR"
    assert any(d["node_id"] == "check" and d["field"] for d in error["details"]), error
    unknown = {"nodes": {"x": {"id": "x", "type": "teleport"}}, "edges": []}
    error = error_of(
        await client.post(
            "/api/workflows", json={"name": "bad", "definition": unknown}, headers=alice.headers
        ),
        400,
    )
    assert error["details"][0]["node_id"] == "x" and error["details"][0]["field"] == "type"
    missing = error_of(
        await client.post("/api/workflows", json={"definition": {}}, headers=alice.headers), 400
    )
    assert "name" in str(missing["details"])


async def test_list_paginates_and_sorts(client: httpx.AsyncClient, bob: User) -> None:
    for name in ("c-flow", "a-flow", "b-flow"):
        await _create(client, bob, name, example("branch"))
    first = data_of(
        await client.get(
            "/api/workflows",
            params={"page": 1, "limit": 2, "sort": "name", "order": "asc"},
            headers=bob.headers,
        )
    )
    assert [w["name"] for w in first["workflows"]] == ["a-flow", "b-flow"]
    assert first["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2}
    second = data_of(
        await client.get(
            "/api/workflows",
            params={"page": 2, "limit": 2, "sort": "name", "order": "asc"},
            headers=bob.headers,
        )
    )
    assert [w["name"] for w in second["workflows"]] == ["c-flow"]
    too_many = await client.get("/api/workflows", params={"limit": 101}, headers=bob.headers)
    assert "limit" in str(error_of(too_many, 400)["details"])
    bad_sort = await client.get("/api/workflows", params={"sort": "secret"}, headers=bob.headers)
    error_of(bad_sort, 400)


async def test_node_catalogue(client: httpx.AsyncClient, alice: User) -> None:
    nodes = data_of(await client.get("/api/nodes", headers=alice.headers))["nodes"]
    by_type = {n["type"]: n for n in nodes}
    assert {"input", "output", "conditional", "switch", "user_input", "wait"} <= set(by_type)
    assert by_type["conditional"]["outputs"]["handles"] == ["true", "false"]
    assert by_type["user_input"]["outputs"]["handles"] == ["approved", "rejected"]
    assert by_type["input"]["inputs"] == []
    assert by_type["wait"]["config_schema"]["$defs"] or by_type["wait"]["config_schema"]
    for node in nodes:
        assert node["category"] and node["name"] and node["description"]
