"""The live tail over real connections: SSE (with resume after a dropped connection and
interleaved chunks) and the WebSocket protocol, including answering a human-input node."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from flowmaestro.events.names import live_subject
from flowmaestro.runtime import ExecutionLog
from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.gateway import User, data_of, error_of, sse_events

pytestmark = pytest.mark.integration


async def test_sse_streams_a_whole_run_then_ends(
    client: httpx.AsyncClient, alice: User, engine: Client
) -> None:
    wid = await workflow(client, alice, "branch")
    eid = (await execute(client, alice, wid, {"amount": 7}))["execution_id"]
    events, _ = await sse_events(client, f"/api/executions/{eid}/events", alice.headers)
    log = await ExecutionLog(engine).read(eid)
    assert [e["id"] for e in events] == [seq for seq, _ in log]
    assert events[0]["event"] == "execution:started"
    assert events[-1]["event"] == "execution:completed"
    assert {"node:started", "node:completed", "node:skipped"} <= {e["event"] for e in events}
    first = events[0]["data"]
    assert (
        first["execution_id"] == eid and first["timestamp"] and first["type"] == events[0]["event"]
    )
    assert events[-1]["data"]["data"]["outputs"] == {"result": "small order of 7"}


async def test_sse_resumes_after_a_dropped_connection_without_gap_or_duplicate(
    client: httpx.AsyncClient, alice: User, engine: Client
) -> None:
    wid = await workflow(client, alice, "approval")
    eid = (await execute(client, alice, wid, {"amount": 99}))["execution_id"]
    path = f"/api/executions/{eid}/events"
    before, _ = await sse_events(
        client, path, alice.headers, stop_after=lambda e: e["event"] == "user:input:required"
    )
    required = before[-1]["data"]
    assert required["node_id"] == "approve"
    assert required["data"]["request"]["prompt"] == "Approve a refund of 99?"

    async def while_live() -> None:
        await engine.publish(live_subject(eid, "approve"), b"token-1")
        await engine.flush()
        response = await client.post(
            f"/api/executions/{eid}/nodes/approve/input",
            json={"input": {"approved": True}},
            headers=alice.headers,
        )
        data_of(response, 202)

    headers = {**alice.headers, "Last-Event-ID": str(before[-1]["id"])}
    after, heartbeats = await sse_events(client, path, headers, on_first_heartbeat=while_live)
    assert heartbeats >= 1
    chunks = [e for e in after if e["event"] == "node:stream"]
    assert [c["data"]["data"]["chunk"] for c in chunks] == ["token-1"]
    assert chunks[0]["data"]["node_id"] == "approve" and "id" not in chunks[0]
    seqs = [e["id"] for e in before + after if "id" in e]
    log = await ExecutionLog(engine).read(eid)
    assert seqs == [seq for seq, _ in log]  # every event exactly once, in order
    assert after[-1]["event"] == "execution:completed"


async def test_sse_rejects_a_bad_last_event_id(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")
    eid = (await execute(client, alice, wid, {"amount": 1}))["execution_id"]
    response = await client.get(
        f"/api/executions/{eid}/events", headers={**alice.headers, "Last-Event-ID": "x"}
    )
    assert error_of(response, 400)["details"][0]["field"] == "Last-Event-ID"


async def _until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 15))
        seen.append(message)
        if message["type"] == kind:
            return seen


def _ws_url(client: httpx.AsyncClient, token: str) -> str:
    return f"ws://{client.base_url.host}:{client.base_url.port}/ws?token={token}"


async def test_websocket_flow_with_a_human_answer(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "approval")
    async with (
        connect(_ws_url(client, alice.token)) as ws,
        connect(_ws_url(client, alice.token)) as second,
    ):
        hello = json.loads(await ws.recv())
        assert hello["type"] == "connection:established"
        assert hello["data"]["user_id"] == alice.id
        await _until(second, "connection:established")
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _until(ws, "pong"))[-1]["type"] == "pong"

        eid = (await execute(client, alice, wid, {"amount": 12}))["execution_id"]
        for socket in (ws, second):
            await socket.send(json.dumps({"type": "subscribe", "execution_id": eid}))
        seen = await _until(ws, "user:input:required")
        assert seen[0]["type"] == "subscribed"
        assert [m["type"] for m in seen[1:3]] == ["execution:started", "node:started"]
        required = seen[-1]
        assert required["node_id"] == "approve" and required["execution_id"] == eid
        assert required["data"]["request"]["mode"] == "approval"

        await ws.send(
            json.dumps(
                {
                    "type": "user:input:response",
                    "execution_id": eid,
                    "node_id": "approve",
                    "input": {"approved": "maybe"},
                }
            )
        )
        rejected = (await _until(ws, "error"))[-1]
        assert rejected["data"]["code"] == "VALIDATION_ERROR"
        await ws.send(
            json.dumps(
                {
                    "type": "user:input:response",
                    "execution_id": eid,
                    "node_id": "approve",
                    "input": {"approved": False, "comment": "too much"},
                }
            )
        )
        rest = await _until(ws, "execution:completed")
        kinds = [m["type"] for m in rest]
        assert "user:input:response" in kinds and "node:completed" in kinds
        assert "node:skipped" in kinds
        assert rest[-1]["data"]["outputs"] == {"deny": {"approved": False, "comment": "too much"}}
        assert (await _until(second, "execution:completed"))[-1]["execution_id"] == eid
    detail = await finished(client, alice, eid)
    assert detail["status"] == "completed"
    # the answer over the socket is audited like one over HTTP: who, from where, which node
    trail = data_of(
        await client.get(
            "/api/audit",
            params={"resource_type": "execution", "resource_id": eid},
            headers=alice.headers,
        )
    )["entries"]
    assert [e["action"] for e in trail] == ["execution.input_answered", "execution.started"]
    assert trail[0]["actor"] == {"user_id": alice.id, "address": "127.0.0.1"}
    assert trail[0]["details"]["node_id"] == "approve"


@pytest.mark.parametrize("token", ["", "garbage"])
async def test_websocket_with_a_bad_token_is_closed_for_policy_violation(
    client: httpx.AsyncClient, token: str
) -> None:
    async with connect(_ws_url(client, token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
