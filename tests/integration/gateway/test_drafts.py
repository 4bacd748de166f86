"""Drafts, publishing, conflicts, version diffs and compatibility checks over real HTTP."""

from __future__ import annotations

import copy

import httpx
import pytest

from tests.integration.gateway.conftest import example
from tests.support.gateway import User, data_of, error_of, eventually

pytestmark = pytest.mark.integration


async def _create(client: httpx.AsyncClient, user: User, definition: dict) -> str:
    response = await client.post(
        "/api/workflows", json={"name": "wf", "definition": definition}, headers=user.headers
    )
    return data_of(response, 201)["id"]


def _match(user: User, revision: int | str) -> dict[str, str]:
    return {**user.headers, "If-Match": f'"{revision}"'}


async def test_an_invalid_draft_is_saved_and_publish_makes_a_version(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await _create(client, alice, example("branch"))
    first = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    assert first["has_draft"] is False and first["problems"] == [] and first["version"] == 1

    broken = example("branch")
    broken["nodes"]["check"]["data"]["expression"] = "amount > ("  # JSONata syntax error
    broken["nodes"]["big"]["data"] = {"value": 1, "delay_seconds": "soon"}
    saved = await client.put(
        f"/api/workflows/{wid}/draft",
        json={"definition": broken, "name": "renamed"},
        headers=_match(alice, first["revision"]),
    )
    draft = data_of(saved)
    assert saved.headers["ETag"] == f'"{draft["revision"]}"'
    assert (
        draft["has_draft"] and draft["name"] == "renamed" and draft["revision"] > first["revision"]
    )
    where = {(p["node_id"], p["field"], p["code"]) for p in draft["problems"]}
    assert ("check", "data.expression", "syntax") in where, draft["problems"]
    assert any(p[0] == "big" and p[1] == "data.delay_seconds" for p in where), where

    # only published versions run: the workflow is still at version 1, unchanged
    workflow = data_of(await client.get(f"/api/workflows/{wid}", headers=alice.headers))
    assert workflow["version"] == 1 and workflow["name"] == "wf"
    again = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    assert again["definition"] == broken and again["revision"] == draft["revision"]

    refused = error_of(
        await client.post(
            f"/api/workflows/{wid}/publish", headers=_match(alice, draft["revision"])
        ),
        400,
    )
    assert any(d["node_id"] == "check" for d in refused["details"])

    fixed = example("branch")
    fixed["nodes"]["check"]["data"]["expression"] = "amount > 500"
    draft = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": fixed, "name": "renamed"},
            headers=_match(alice, draft["revision"]),
        )
    )
    assert draft["problems"] == []
    published = data_of(
        await client.post(f"/api/workflows/{wid}/publish", headers=_match(alice, draft["revision"]))
    )
    assert published["new_version"] is True and published["workflow"]["version"] == 2
    assert published["workflow"]["name"] == "renamed"
    after = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    assert after["has_draft"] is False and after["version"] == 2
    audit = data_of(
        await client.get(
            "/api/audit",
            params={"resource_type": "workflow", "resource_id": wid},
            headers=alice.headers,
        )
    )
    published_entry = next(e for e in audit["entries"] if e["action"] == "workflow.published")
    assert published_entry["details"]["version"] == 2 and published_entry["details"]["new_version"]

    # a test run of the draft runs the draft; an ordinary run runs the published version
    draft = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": example("branch")},
            headers=_match(alice, after["revision"]),
        )
    )
    test = data_of(
        await client.post(
            f"/api/workflows/{wid}/test",
            json={"inputs": {"amount": 200}, "draft": True},
            headers=alice.headers,
        ),
        202,
    )
    assert test["test"] is True and test["workflow_version"] == 2


async def test_layout_alone_makes_no_version(client: httpx.AsyncClient, alice: User) -> None:
    wid = await _create(client, alice, example("branch"))
    moved = example("branch")
    moved["nodes"]["big"]["position"] = {"x": 999, "y": 999}
    updated = data_of(
        await client.put(f"/api/workflows/{wid}", json={"definition": moved}, headers=alice.headers)
    )
    assert updated["version"] == 1
    assert updated["definition"]["nodes"]["big"]["position"] == {"x": 999, "y": 999}
    draft = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    moved["nodes"]["small"]["position"] = {"x": 5, "y": 5}
    draft = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": moved},
            headers=_match(alice, draft["revision"]),
        )
    )
    published = data_of(
        await client.post(f"/api/workflows/{wid}/publish", headers=_match(alice, draft["revision"]))
    )
    assert published["new_version"] is False and published["workflow"]["version"] == 1
    assert published["workflow"]["definition"]["nodes"]["small"]["position"] == {"x": 5, "y": 5}
    versions = data_of(await client.get(f"/api/workflows/{wid}/versions", headers=alice.headers))
    assert [v["version"] for v in versions] == [1]


async def test_a_second_tab_gets_a_conflict(client: httpx.AsyncClient, alice: User) -> None:
    wid = await _create(client, alice, example("branch"))
    loaded = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    tab_a, tab_b = copy.deepcopy(loaded["definition"]), copy.deepcopy(loaded["definition"])
    tab_a["nodes"]["big"]["data"]["value"] = "from tab A"
    tab_b["nodes"]["big"]["data"]["value"] = "from tab B"
    a = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": tab_a},
            headers=_match(alice, loaded["revision"]),
        )
    )
    stale = await client.put(
        f"/api/workflows/{wid}/draft",
        json={"definition": tab_b},
        headers=_match(alice, loaded["revision"]),
    )
    error = error_of(stale, 409)
    assert error["code"] == "EDIT_CONFLICT" and error["details"]["revision"] == a["revision"]
    kept = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    assert kept["definition"]["nodes"]["big"]["data"]["value"] == "from tab A"
    # publishing, restoring and a direct update check the revision too
    error_of(
        await client.put(
            f"/api/workflows/{wid}",
            json={"name": "stale"},
            headers=_match(alice, loaded["revision"]),
        ),
        409,
    )
    error_of(
        await client.post(
            f"/api/workflows/{wid}/publish", headers=_match(alice, loaded["revision"])
        ),
        409,
    )
    error_of(
        await client.post(
            f"/api/workflows/{wid}/versions/1/restore", headers=_match(alice, loaded["revision"])
        ),
        409,
    )
    # overwrite: the second tab writes again naming the revision the conflict reported
    b = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": tab_b},
            headers=_match(alice, error["details"]["revision"]),
        )
    )
    assert b["definition"]["nodes"]["big"]["data"]["value"] == "from tab B"
    error_of(
        await client.put(
            f"/api/workflows/{wid}/draft", json={"definition": tab_b}, headers=_match(alice, "x1")
        ),
        400,
    )
    discarded = data_of(
        await client.delete(f"/api/workflows/{wid}/draft", headers=_match(alice, b["revision"]))
    )
    assert discarded["has_draft"] is False and discarded["definition"] == loaded["definition"]


async def test_version_diff(client: httpx.AsyncClient, alice: User) -> None:
    wid = await _create(client, alice, example("branch"))
    changed = example("branch")
    changed["nodes"]["check"]["data"]["expression"] = "amount > 500"
    changed["nodes"]["check"]["position"] = {"x": 1, "y": 1}
    del changed["nodes"]["small"]
    changed["edges"] = [e for e in changed["edges"] if "small" not in (e["source"], e["target"])]
    changed["nodes"]["note"] = {"id": "note", "type": "echo", "data": {"value": "hi"}}
    changed["edges"].append({"id": "e9", "source": "join", "target": "note"})
    data_of(
        await client.put(
            f"/api/workflows/{wid}", json={"definition": changed}, headers=alice.headers
        )
    )
    out = data_of(
        await client.get(f"/api/workflows/{wid}/versions/2/diff?against=1", headers=alice.headers)
    )
    diff = out["diff"]
    assert out["layout_only"] is False and out["against"] == 1
    assert diff["added"] == [{"id": "note", "type": "echo"}]
    assert diff["removed"] == [{"id": "small", "type": "echo"}]
    assert diff["changed"] == [
        {
            "id": "check",
            "type": "conditional",
            "fields": [
                {"path": "data.expression", "before": "amount > 100", "after": "amount > 500"}
            ],
            "truncated": False,
        }
    ]
    assert {(e["source"], e["target"]) for e in diff["edges_removed"]} == {
        ("check", "small"),
        ("small", "join"),
    }
    default = data_of(
        await client.get(f"/api/workflows/{wid}/versions/2/diff", headers=alice.headers)
    )
    assert default["against"] == 1
    error_of(
        await client.get(f"/api/workflows/{wid}/versions/2/diff?against=7", headers=alice.headers),
        404,
    )
    error_of(
        await client.get(f"/api/workflows/{wid}/versions/2/diff?against=0", headers=alice.headers),
        400,
    )


async def test_compatibility_of_waiting_executions(client: httpx.AsyncClient, alice: User) -> None:
    wid = await _create(client, alice, example("approval"))
    started = data_of(
        await client.post(
            "/api/workflows/execute",
            json={"workflow_id": wid, "inputs": {"amount": 5}},
            headers=alice.headers,
        ),
        202,
    )
    execution = started["execution_id"]

    async def waiting() -> bool:
        detail = data_of(await client.get(f"/api/executions/{execution}", headers=alice.headers))
        return detail["nodes"]["approve"]["status"] == "waiting"

    await eventually(waiting)

    def verdict_of(body: dict) -> dict:
        return next((e for e in body["executions"] if e["execution_id"] == execution), {})

    behind = example("approval")
    behind["nodes"]["start"]["data"]["schema"]["note"] = {"type": "string"}

    async def pinned() -> dict | None:
        # the read model catches up with the log a moment after the live view
        body = data_of(
            await client.post(
                f"/api/workflows/{wid}/compatibility",
                json={"definition": behind},
                headers=alice.headers,
            )
        )
        found = verdict_of(body)
        return found if found.get("verdict") == "pinned" else None

    assert (await eventually(pinned))["nodes"] == ["start"]

    ahead = example("approval")
    ahead["nodes"]["refund"]["data"]["output"] = "refunded!"
    safe = data_of(
        await client.post(
            f"/api/workflows/{wid}/compatibility", json={"definition": ahead}, headers=alice.headers
        )
    )
    assert verdict_of(safe)["verdict"] == "safe" and safe["counts"]["safe"] >= 1
    assert [c["id"] for c in safe["diff"]["changed"]] == ["refund"]

    removed = example("approval")
    removed["nodes"]["approve"]["data"]["prompt"] = "Sure?"
    incompatible = data_of(
        await client.post(
            f"/api/workflows/{wid}/compatibility",
            json={"definition": removed},
            headers=alice.headers,
        )
    )
    verdict = verdict_of(incompatible)
    assert verdict["verdict"] == "incompatible" and verdict["nodes"] == ["approve"]
    assert verdict["status"] in ("running", "paused", "pending")

    # without a definition the candidate is the draft
    draft = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    data_of(
        await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": removed},
            headers=_match(alice, draft["revision"]),
        )
    )
    from_draft = data_of(
        await client.post(f"/api/workflows/{wid}/compatibility", json={}, headers=alice.headers)
    )
    assert verdict_of(from_draft)["verdict"] == "incompatible"
    await client.post(f"/api/executions/{execution}/cancel", headers=alice.headers)


async def test_refusals(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wid = await _create(client, alice, example("branch"))
    draft = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    # another tenant's workflow is not found, whatever the route
    for method, path, body in [
        ("GET", "draft", None),
        ("PUT", "draft", {"definition": example("branch")}),
        ("DELETE", "draft", None),
        ("POST", "publish", None),
        ("POST", "compatibility", {}),
        ("GET", "versions/1/diff", None),
    ]:
        response = await client.request(
            method, f"/api/workflows/{wid}/{path}", json=body, headers=bob.headers
        )
        assert error_of(response, 404)["code"] == "NOT_FOUND", (method, path)
    error_of(await client.get(f"/api/workflows/{wid}/draft"), 401)
    mine = data_of(await client.get(f"/api/workflows/{wid}/draft", headers=alice.headers))
    assert mine["revision"] == draft["revision"]  # bob's attempts changed nothing

    # bounded in size (the default: 1 MiB)
    huge = example("branch")
    huge["nodes"]["big"]["data"]["value"] = "x" * (1024 * 1024 + 1)
    too_large = error_of(
        await client.put(
            f"/api/workflows/{wid}/draft", json={"definition": huge}, headers=alice.headers
        ),
        413,
    )
    assert (
        too_large["code"] == "PAYLOAD_TOO_LARGE"
        and too_large["details"]["limit_bytes"] == 1024 * 1024
    )
    error_of(
        await client.post(
            f"/api/workflows/{wid}/compatibility", json={"definition": huge}, headers=alice.headers
        ),
        413,
    )
    error_of(
        await client.put(
            f"/api/workflows/{wid}/draft", json={"definition": []}, headers=alice.headers
        ),
        400,
    )

    # nesting past what the body decoder takes is refused, never stored
    body = '{"definition": {"nodes": {"a": {"id": "a", "type": "echo", "data": {"value": '
    body += "[" * 100_000 + "]" * 100_000 + "}}}}}"
    response = await client.put(
        f"/api/workflows/{wid}/draft",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert error_of(response, 400)["code"] == "TOO_DEEPLY_NESTED"

    # a hostile expression is reported, quickly, never run
    hostile = example("branch")
    hostile["nodes"]["check"]["data"]["expression"] = "a.b." * 4000 + "c"
    hostile["nodes"]["small"] = {
        "id": "small",
        "type": "transform",
        "data": {"expression": "(" * 5000},
    }
    saved = data_of(
        await client.put(
            f"/api/workflows/{wid}/draft", json={"definition": hostile}, headers=alice.headers
        )
    )
    codes = {(p["node_id"], p["code"]) for p in saved["problems"]}
    assert ("check", "too_long") in codes and ("small", "too_long") in codes, codes


async def test_autosave_rate_is_bounded(client: httpx.AsyncClient, bob: User) -> None:
    wid = await _create(client, bob, example("branch"))
    statuses = []
    # fixed one-minute windows: a run that straddles two may see up to twice the limit
    for _ in range(245):
        response = await client.put(
            f"/api/workflows/{wid}/draft",
            json={"definition": example("branch")},
            headers=bob.headers,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            error = error_of(response, 429)
            assert error["code"] == "RATE_LIMITED" and int(response.headers["Retry-After"]) >= 1
            break
    assert statuses.count(200) >= 60 and statuses[-1] == 429, statuses
