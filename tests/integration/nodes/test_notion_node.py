"""`notion` creates a page in a database and queries it, through a fake Notion API."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.fakes.notion import FakeNotion
from tests.support.engine import run
from tests.support.workflows import register_integration

pytestmark = pytest.mark.integration


async def test_create_page_then_query_database(engine: Client, allow_loopback: None) -> None:
    notion = FakeNotion()
    async with notion.server() as server:
        integration = await register_integration(
            engine, "notion", {"token": notion.token}, {"base_url": f"{server.url}/v1"}
        )
        title = {"Name": {"title": [{"text": {"content": "Ship it"}}]}}
        common = {"integration_id": integration, "database_id": "db1"}
        definition = {
            "nodes": {
                "create": {
                    "id": "create",
                    "type": "notion",
                    "data": {**common, "operation": "create_page", "properties": title},
                },
                "query": {
                    "id": "query",
                    "type": "notion",
                    "data": {**common, "operation": "query_database", "page_size": 10},
                },
                "result": {"id": "result", "type": "output", "data": {"output": "${query.output}"}},
            },
            "edges": [
                {"id": "e1", "source": "create", "target": "query"},
                {"id": "e2", "source": "query", "target": "result"},
            ],
        }
        state, _ = await run(engine, definition)
        assert [r.headers["notion-version"] for r in server.requests] == ["2022-06-28"] * 2
    assert state.status is ExecutionStatus.COMPLETED, state.error
    created = state.nodes["create"].output
    result = state.outputs["result"]
    assert [page["id"] for page in result["results"]] == [created["id"]]
    assert result["results"][0]["properties"] == title
    assert result["has_more"] is False


async def test_unknown_database_fails_terminally(engine: Client, allow_loopback: None) -> None:
    notion = FakeNotion()
    async with notion.server() as server:
        integration = await register_integration(
            engine, "notion", {"token": notion.token}, {"base_url": f"{server.url}/v1"}
        )
        data = {"integration_id": integration, "operation": "query_database", "database_id": "x"}
        state, _ = await run(engine, {"nodes": {"q": {"id": "q", "type": "notion", "data": data}}})
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and "object_not_found" in state.error.message
