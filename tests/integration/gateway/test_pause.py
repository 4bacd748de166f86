"""Pause and resume over real HTTP: a fan-out held mid-way, then released; cancel while
paused; the status everywhere; conflicts and other users' runs."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.gateway.test_executions import execute, workflow
from tests.support.gateway import User, data_of, error_of, eventually, sse_events

pytestmark = pytest.mark.integration

FAN = ("b1", "b2", "b3")
SLOW_S = 1.0


def fan_out() -> dict:
    """a → (b1, b2, b3: each takes a second) → join → out."""
    nodes = {
        "a": {"id": "a", "type": "echo", "data": {"value": 1}},
        **{
            b: {"id": b, "type": "echo", "data": {"value": b, "delay_seconds": SLOW_S}} for b in FAN
        },
        "join": {"id": "join", "type": "echo", "data": {"value": "joined"}},
        "out": {"id": "out", "type": "output", "data": {"output": "${join.output}"}},
    }
    edges = [{"id": f"a{b}", "source": "a", "target": b} for b in FAN]
    edges += [{"id": f"{b}j", "source": b, "target": "join"} for b in FAN]
    edges.append({"id": "jo", "source": "join", "target": "out"})
    return {"nodes": nodes, "edges": edges}


async def start(client: httpx.AsyncClient, user: User) -> str:
    created = await client.post(
        "/api/workflows", json={"name": "fan", "definition": fan_out()}, headers=user.headers
    )
    started = await client.post(
        "/api/workflows/execute",
        json={"workflow_id": data_of(created, 201)["id"]},
        headers=user.headers,
    )
    return data_of(started, 202)["execution_id"]


async def logs(client: httpx.AsyncClient, user: User, eid: str) -> list[dict]:
    return data_of(await client.get(f"/api/executions/{eid}/logs", headers=user.headers))["logs"]


def events_of(entries: list[dict], tag: str) -> list[str]:
    return [e["node_id"] for e in entries if e["event"] == tag]


async def status(client: httpx.AsyncClient, user: User, eid: str) -> str:
    return data_of(await client.get(f"/api/executions/{eid}", headers=user.headers))["status"]


async def test_pause_during_a_fan_out_then_resume(client: httpx.AsyncClient, alice: User) -> None:
    eid = await start(client, alice)

    async def fanned_out() -> list[dict] | None:
        entries = await logs(client, alice, eid)
        return entries if set(FAN) <= set(events_of(entries, "node.scheduled")) else None

    await eventually(fanned_out)
    paused = await client.post(f"/api/executions/{eid}/pause", headers=alice.headers)
    assert data_of(paused, 202) == {"paused": True, "execution_id": eid}

    async def fan_done() -> list[dict] | None:
        entries = await logs(client, alice, eid)
        return entries if set(FAN) <= set(events_of(entries, "node.completed")) else None

    entries = await eventually(fan_done)
    await asyncio.sleep(0.5)  # time enough for the join to start, were it not held
    entries = await logs(client, alice, eid)
    assert "join" not in events_of(entries, "node.scheduled")
    assert "execution.pause_requested" in [e["event"] for e in entries]
    assert await eventually(lambda: _is(client, alice, eid, "paused"))
    listed = data_of(
        await client.get(
            "/api/executions", params={"status": "paused", "limit": 100}, headers=alice.headers
        )
    )["executions"]
    assert eid in [row["id"] for row in listed]

    again = await client.post(f"/api/executions/{eid}/pause", headers=alice.headers)
    assert error_of(again, 409)["code"] == "NOT_RUNNING"

    resumed = await client.post(f"/api/executions/{eid}/resume", headers=alice.headers)
    assert data_of(resumed, 202) == {"resumed": True, "execution_id": eid}
    assert await eventually(lambda: _is(client, alice, eid, "completed"))
    detail = data_of(await client.get(f"/api/executions/{eid}", headers=alice.headers))
    assert detail["outputs"] == {"out": "joined"}
    entries = await logs(client, alice, eid)
    tags = [e["event"] for e in entries]
    pause_at = tags.index("execution.pause_requested")
    resume_at = tags.index("execution.resumed")
    scheduled_while_paused = [
        e["node_id"] for e in entries[pause_at:resume_at] if e["event"] == "node.scheduled"
    ]
    assert "join" not in scheduled_while_paused and "out" not in scheduled_while_paused
    completed_while_paused = [
        e["node_id"] for e in entries[pause_at:resume_at] if e["event"] == "node.completed"
    ]
    assert set(FAN) <= set(completed_while_paused)

    live, _ = await sse_events(client, f"/api/executions/{eid}/events", alice.headers)
    kinds = [e["event"] for e in live]
    assert "execution:paused" in kinds and "execution:resumed" in kinds
    late = await client.post(f"/api/executions/{eid}/resume", headers=alice.headers)
    assert error_of(late, 409)["code"] == "NOT_PAUSED"


async def _is(client: httpx.AsyncClient, user: User, eid: str, wanted: str) -> bool:
    return await status(client, user, eid) == wanted


async def test_a_wait_timer_due_while_paused_takes_effect_on_resume(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await workflow(client, alice, "wait")
    eid = (await execute(client, alice, wid, {"seconds": 1}))["execution_id"]

    async def waiting() -> bool:
        detail = data_of(await client.get(f"/api/executions/{eid}", headers=alice.headers))
        return detail["nodes"].get("pause", {}).get("status") == "waiting"

    await eventually(waiting)
    data_of(await client.post(f"/api/executions/{eid}/pause", headers=alice.headers), 202)
    await asyncio.sleep(2.0)  # the wait's timer comes due while the run is paused
    entries = await logs(client, alice, eid)
    assert "result" not in events_of(entries, "node.scheduled"), entries
    assert await status(client, alice, eid) == "paused"
    data_of(await client.post(f"/api/executions/{eid}/resume", headers=alice.headers), 202)
    assert await eventually(lambda: _is(client, alice, eid, "completed"))
    entries = await logs(client, alice, eid)
    assert events_of(entries, "node.completed").count("result") == 1
    resumed = next(i for i, e in enumerate(entries) if e["event"] == "execution.resumed")
    # what the timer released happened only after the resume
    assert all(i > resumed for i, e in enumerate(entries) if e["node_id"] == "result"), entries


async def test_cancel_while_paused(client: httpx.AsyncClient, alice: User) -> None:
    eid = await start(client, alice)
    data_of(await client.post(f"/api/executions/{eid}/pause", headers=alice.headers), 202)
    not_paused = await client.post(f"/api/executions/{eid}/pause", headers=alice.headers)
    assert error_of(not_paused, 409)["code"] == "NOT_RUNNING"
    data_of(await client.post(f"/api/executions/{eid}/cancel", headers=alice.headers), 202)
    assert await eventually(lambda: _is(client, alice, eid, "cancelled"))
    ended = await client.post(f"/api/executions/{eid}/resume", headers=alice.headers)
    assert error_of(ended, 409)["code"] == "NOT_PAUSED"


async def test_another_users_run_cannot_be_paused_or_resumed(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    eid = await start(client, alice)
    for action in ("pause", "resume"):
        refused = await client.post(f"/api/executions/{eid}/{action}", headers=bob.headers)
        assert error_of(refused, 404)["code"] == "NOT_FOUND"
    assert await eventually(lambda: _is(client, alice, eid, "completed"))
    entries = await logs(client, alice, eid)
    assert "execution.pause_requested" not in [e["event"] for e in entries]
