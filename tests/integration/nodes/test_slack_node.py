"""`slack` posts and replies in a thread through a fake Slack Web API."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.slack import FakeSlack
from tests.support.engine import run
from tests.support.workflows import register_integration

pytestmark = pytest.mark.integration


def _thread(integration: str) -> dict[str, object]:
    node = {"integration_id": integration, "channel": "C1"}
    return {
        "nodes": {
            "post": {"id": "post", "type": "slack", "data": {**node, "text": "deploy started"}},
            "reply": {
                "id": "reply",
                "type": "slack",
                "data": {**node, "text": "done", "thread_ts": "${post.output.ts}"},
            },
            "result": {"id": "result", "type": "output", "data": {"output": "${reply.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "post", "target": "reply"},
            {"id": "e2", "source": "reply", "target": "result"},
        ],
    }


async def test_post_then_reply_in_thread(engine: Client, allow_loopback: None) -> None:
    slack = FakeSlack(rate_limited=1)
    async with slack.server() as server:
        integration = await register_integration(
            engine, "slack", {"token": slack.token}, {"base_url": server.url}
        )
        state, _ = await run(engine, _thread(integration))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    first, second = slack.messages
    assert first["text"] == "deploy started" and second["thread_ts"] == first["ts"]
    assert state.outputs["result"]["thread_ts"] == first["ts"]
    assert state.nodes["post"].attempt == 2, "the 429 was retried by the engine"
    assert first["client_msg_id"] and first["client_msg_id"] != second["client_msg_id"]


async def test_unknown_channel_fails_terminally(engine: Client, allow_loopback: None) -> None:
    slack = FakeSlack()
    async with slack.server() as server:
        integration = await register_integration(
            engine, "slack", {"token": slack.token}, {"base_url": server.url}
        )
        data = {"integration_id": integration, "channel": "C404", "text": "hi"}
        definition = {"nodes": {"post": {"id": "post", "type": "slack", "data": data}}}
        state, _ = await run(engine, definition)
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and "channel_not_found" in state.error.message
    assert state.nodes["post"].attempt == 1
