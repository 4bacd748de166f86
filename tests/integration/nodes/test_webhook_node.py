"""`webhook` POSTs the upstream output signed with HMAC-SHA256 to a fake receiver."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.support.engine import run
from tests.support.workflows import one_node, register_integration

pytestmark = pytest.mark.integration

SECRET = "whsec-test"


def _receiver(request: Request) -> Response:
    timestamp = request.headers["x-flowmaestro-timestamp"]
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    if request.headers["x-flowmaestro-signature"] != f"v1={expected}":
        return Response(401, "bad signature")
    if abs(time.time() - int(timestamp)) > 300:
        return Response(401, "stale")
    return Response(200, {"received": request.json()})


async def test_signed_post_is_verified_by_the_receiver(
    engine: Client, allow_loopback: None
) -> None:
    integration = await register_integration(engine, "webhook", {"secret": SECRET})
    async with FakeHttpServer(_receiver) as receiver:
        data = {"integration_id": integration, "url": f"{receiver.url}/hook"}
        state, _ = await run(engine, one_node("webhook", data, upstream={"order": 42}))
        (request,) = receiver.requests
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == {"status": 200, "body": {"received": {"order": 42}}}
    assert request.headers["idempotency-key"] == f"{state.execution_id}:node:1"


async def test_wrong_secret_is_rejected_terminally(engine: Client, allow_loopback: None) -> None:
    integration = await register_integration(engine, "webhook", {"secret": "other"})
    async with FakeHttpServer(_receiver) as receiver:
        data = {"integration_id": integration, "url": f"{receiver.url}/hook", "payload": [1]}
        state, _ = await run(engine, one_node("webhook", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "http_401"
