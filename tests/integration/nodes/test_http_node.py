"""`http` runs inside a workflow against a fake API on 127.0.0.1."""

from __future__ import annotations

import base64

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.support.engine import run
from tests.support.workflows import one_node, register_integration

pytestmark = pytest.mark.integration


_limited_seen: list[Request] = []


def _api(request: Request) -> Response:
    if request.path == "/limited":
        limited = sum(r.path == "/limited" for r in _limited_seen)
        _limited_seen.append(request)
        if limited == 0:
            return Response(429, "slow down", {"Retry-After": "1"})
        return Response(200, {"ok": True})
    if request.path == "/flaky":
        return Response(503, "busy", {"Retry-After": "0"})
    if request.path == "/missing":
        return Response(404, "no such thing")
    if request.path == "/moved":
        return Response(302, b"", {"Location": "/echo?moved=1"})
    if request.path == "/big":
        return Response(200, b"x" * 5000)
    return Response(
        200,
        {
            "method": request.method,
            "query": request.query,
            "auth": request.headers.get("authorization"),
            "key": request.headers.get("idempotency-key"),
            "type": request.headers.get("content-type"),
            "body": request.body.decode(),
        },
    )


async def test_post_json_with_query_auth_and_idempotency_key(
    engine: Client, allow_loopback: None
) -> None:
    integration = await register_integration(engine, "http", {"username": "ann", "password": "pw"})
    async with FakeHttpServer(_api) as api:
        data = {
            "method": "POST",
            "url": f"{api.url}/echo",
            "query": {"page": 2},
            "body": {"name": "${source.output}"},
            "integration_id": integration,
        }
        state, _ = await run(engine, one_node("http", data, upstream="widget"))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["status"] == 200
    body = output["body"]
    assert body["method"] == "POST" and body["query"] == {"page": ["2"]}
    assert body["auth"] == "Basic " + base64.b64encode(b"ann:pw").decode()
    assert body["key"] == f"{state.execution_id}:node:1"
    assert body["type"] == "application/json" and body["body"] == '{"name": "widget"}'


async def test_form_body_and_redirect(engine: Client, allow_loopback: None) -> None:
    async with FakeHttpServer(_api) as api:
        data = {"method": "POST", "url": f"{api.url}/moved", "body": {"a": "1 2"}}
        data["body_type"] = "form"
        state, _ = await run(engine, one_node("http", data))
        assert [r.path for r in api.requests] == ["/moved", "/echo"]
        assert api.requests[0].body == b"a=1+2"
    assert state.outputs["result"]["body"]["query"] == {"moved": ["1"]}


async def test_5xx_is_retried_by_the_engine_then_fails(
    engine: Client, allow_loopback: None
) -> None:
    async with FakeHttpServer(_api) as api:
        data = {
            "url": f"{api.url}/flaky",
            "retry": {"max_attempts": 2, "initial_interval_seconds": 0.1},
        }
        state, _ = await run(engine, one_node("http", data))
        assert len(api.requests) == 2
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "http_503"
    node = state.nodes["node"]
    assert [a.status for a in node.attempts] == ["failed", "failed"]


async def test_4xx_fails_terminally_and_size_cap_holds(
    engine: Client, allow_loopback: None
) -> None:
    async with FakeHttpServer(_api) as api:
        missing, _ = await run(engine, one_node("http", {"url": f"{api.url}/missing"}))
        big, _ = await run(
            engine, one_node("http", {"url": f"{api.url}/big", "max_response_bytes": 1000})
        )
    assert missing.error is not None and missing.error.kind == "http_404"
    assert missing.nodes["node"].attempt == 1
    assert big.error is not None and big.error.kind == "response_too_large"


async def test_loopback_is_refused_without_the_allow_list(engine: Client) -> None:
    async with FakeHttpServer(_api) as api:
        state, _ = await run(engine, one_node("http", {"url": f"{api.url}/echo"}))
        assert api.requests == []
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "egress"


async def test_429_waits_for_retry_after_then_succeeds(
    engine: Client, allow_loopback: None
) -> None:
    _limited_seen.clear()
    async with FakeHttpServer(_api) as api:
        data = {"url": f"{api.url}/limited", "retry": {"initial_interval_seconds": 0.05}}
        state, _ = await run(engine, one_node("http", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    first, second = state.nodes["node"].attempts
    assert first.status == "failed" and second.status == "completed"
    assert state.outputs["result"]["body"] == {"ok": True}
    assert first.ended_at is not None and second.scheduled_at is not None
    assert (second.scheduled_at - first.ended_at).total_seconds() >= 0.95
