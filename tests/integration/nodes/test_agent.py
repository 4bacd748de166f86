"""The `agent` node: tool calls through each provider, durable records, budgets, and a
crash mid-agent that resumes without repeating finished tool calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import (
    CATALOGUE,
    ChildFinished,
    DefinitionError,
    ExecutionStarted,
    ExecutionStatus,
    NodeProgress,
    parse_definition,
)
from flowmaestro.executors import EXECUTORS, ExecutorWorker
from flowmaestro.runtime import (
    EmbeddedNats,
    ExecutionLog,
    connect,
    ensure_topology,
    new_execution_id,
)
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.scheduler import Scheduler
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.base import FakeServer, Reply
from tests.fakes.cohere_server import FakeCohere
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.tool_server import FakeTools
from tests.support.ai import one_node, run_watching
from tests.support.engine import start, wait_for_end

pytestmark = pytest.mark.integration


def _tool(fake_tools: FakeTools, name: str, method: str = "POST") -> dict[str, Any]:
    return {
        "name": name,
        "description": f"the {name} tool",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "url": f"{fake_tools.url}/{name}",
        "method": method,
    }


def _progress(records: list[Any]) -> list[str]:
    return [e.key for _, e in records if isinstance(e, NodeProgress)]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google", "cohere"])
async def test_agent_calls_a_tool_then_answers(
    engine: Client,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    fake_gemini: FakeGemini,
    fake_cohere: FakeCohere,
    fake_tools: FakeTools,
    provider: str,
) -> None:
    fake: FakeServer = {
        "openai": fake_openai,
        "anthropic": fake_anthropic,
        "google": fake_gemini,
        "cohere": fake_cohere,
    }[provider]
    base_url = fake.base_url if isinstance(fake, FakeOpenAI | FakeGemini) else fake.url
    fake.script(
        Reply(tool_calls=[("weather", {"city": "Paris"})]), Reply(text="It is sunny in Paris.")
    )
    data = {
        "provider": provider,
        "base_url": base_url,
        "prompt": "Weather in ${inputs.city}?",
        "tools": [_tool(fake_tools, "weather", "GET" if provider == "google" else "POST")],
    }
    state, records, chunks = await run_watching(
        engine, one_node("agent", data, {"city": "string"}), {"city": "Paris"}
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["text"] == "It is sunny in Paris."
    assert output["steps"] == 2
    (call,) = output["tool_calls"]
    assert call["name"] == "weather" and call["ok"] and "sunny in Paris" in call["content"]
    (tool_request,) = fake_tools.requests
    assert tool_request.headers["idempotency-key"].endswith(f":ai:1:tool-1-{call['id']}")
    assert "sunny in Paris" in fake.requests[1].body.decode()
    first_key, second_key = (r.headers["idempotency-key"] for r in fake.requests)
    assert second_key == f"{first_key}:turn-2"
    assert len(_progress(records)) == 3
    assert "".join(chunks).endswith("It is sunny in Paris.")


async def test_agent_stops_at_its_step_budget(
    engine: Client, fake_openai: FakeOpenAI, fake_tools: FakeTools
) -> None:
    again = Reply(tool_calls=[("weather", {"city": "Rome"})])
    fake_openai.script(again, again, again)
    data = {
        "base_url": fake_openai.base_url,
        "prompt": "Loop",
        "max_steps": 2,
        "tools": [_tool(fake_tools, "weather")],
    }
    state, _, _ = await run_watching(engine, one_node("agent", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["finish_reason"] == "max_steps"
    assert output["steps"] == 2 and len(output["tool_calls"]) == 2
    assert len(fake_openai.requests) == 2


async def test_agent_gives_tool_failures_to_the_model(
    engine: Client, fake_openai: FakeOpenAI, fake_tools: FakeTools
) -> None:
    fake_openai.script(Reply(tool_calls=[("broken", {})]), Reply(text="The tool is down."))
    data = {
        "base_url": fake_openai.base_url,
        "prompt": "Try",
        "tools": [_tool(fake_tools, "broken")],
    }
    state, _, _ = await run_watching(engine, one_node("agent", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    (call,) = state.outputs["result"]["tool_calls"]
    assert call["ok"] is False and call["status"] == 503


async def test_agent_resumes_after_a_crash_without_repeating_finished_calls(
    tmp_path: Path, fake_openai: FakeOpenAI, fake_tools: FakeTools
) -> None:
    # Its own server and engine, so stopping this executor leaves the shared one alone.
    server = EmbeddedNats(tmp_path / "nats").start()
    connections: list[Client] = []

    async def connection(name: str) -> Client:
        nc = await connect(server.url, name=name)
        connections.append(nc)
        return nc

    stop_all, stop_first = asyncio.Event(), asyncio.Event()
    try:
        nc = await connection("test")
        await ensure_topology(nc.jetstream(), CATALOGUE)
        scheduler = asyncio.ensure_future(
            Scheduler(JetStreamEventLog(await connection("sched"))).run(stop_all)
        )
        first = asyncio.ensure_future(
            ExecutorWorker(await connection("exec-1"), dict(EXECUTORS)).run(stop_first)
        )
        fake_tools.block_first_slow = True
        fake_openai.script(
            Reply(tool_calls=[("weather", {"city": "Oslo"})]),
            Reply(tool_calls=[("slow", {})]),
            Reply(text="All done."),
        )
        data = {
            "base_url": fake_openai.base_url,
            "prompt": "Go",
            "tools": [_tool(fake_tools, "weather"), _tool(fake_tools, "slow")],
        }
        execution_id = await start(nc, one_node("agent", data))
        for _ in range(500):
            if fake_tools.calls("/slow"):
                break
            await asyncio.sleep(0.01)
        assert fake_tools.calls("/slow"), "the agent never reached the slow tool"
        # The executor stops mid-call: its command is neither answered nor acknowledged.
        stop_first.set()
        await asyncio.wait_for(first, 5)
        fake_tools.release.set()
        second = asyncio.ensure_future(
            ExecutorWorker(await connection("exec-2"), dict(EXECUTORS)).run(stop_all)
        )
        state, records = await wait_for_end(nc, execution_id, timeout=20)
        assert state.status is ExecutionStatus.COMPLETED, state.error
        assert state.outputs["result"]["text"] == "All done."
        assert len(fake_tools.calls("/weather")) == 1
        assert len(fake_tools.calls("/slow")) == 2
        assert len(fake_openai.calls("/chat/completions")) == 3
        assert _progress(records) == [
            "turn-1",
            "tool-1-call_0",
            "turn-2",
            "tool-2-call_0",
            "turn-3",
        ]
        stop_all.set()
        await asyncio.wait([scheduler, second], timeout=5)
    finally:
        stop_all.set()
        stop_first.set()
        fake_tools.release.set()
        for nc in connections:
            await nc.close()
        server.stop()


async def test_agent_calls_another_workflow_as_a_tool(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    doubler = parse_definition(
        {
            "nodes": {
                "in": {
                    "id": "in",
                    "type": "input",
                    "data": {"schema": {"n": {"type": "number", "required": True}}},
                },
                "twice": {"id": "twice", "type": "transform", "data": {"expression": "n * 2"}},
                "out": {"id": "out", "type": "output", "data": {"output": "${twice.output}"}},
            },
            "edges": [
                {"id": "1", "source": "in", "target": "twice"},
                {"id": "2", "source": "twice", "target": "out"},
            ],
        }
    )
    fake_openai.script(Reply(tool_calls=[("double", {"n": 21})]), Reply(text="It is 42."))
    tool = {
        "name": "double",
        "description": "doubles n",
        "workflow_id": "doubler",
        "parameters": {"type": "object", "properties": {"n": {"type": "number"}}},
    }
    definition = parse_definition(
        one_node(
            "agent",
            {
                "provider": "openai",
                "base_url": fake_openai.base_url,
                "prompt": "Double 21",
                "tools": [tool],
            },
        )
    )
    execution_id = new_execution_id()
    await ExecutionLog(engine).start(
        ExecutionStarted(
            execution_id=execution_id,
            definition=definition,
            started_at=datetime.now(UTC),
            workflows={"doubler": doubler},
        )
    )
    state, records = await wait_for_end(engine, execution_id, timeout=30)
    assert state.status is ExecutionStatus.COMPLETED, state.error
    (call,) = state.outputs["result"]["tool_calls"]
    assert call["ok"] and call["content"] == '{"out":42}'
    child = call["execution_id"]
    child_state, _ = await wait_for_end(engine, child)
    assert child_state.parent is not None and child_state.parent.execution_id == execution_id
    assert any(isinstance(e, ChildFinished) and e.execution_id == child for _, e in records)
    assert "42" in fake_openai.requests[1].body.decode()


def test_a_tool_is_either_a_url_or_a_workflow() -> None:
    both = {"name": "t", "url": "http://x", "workflow_id": "w"}
    neither = {"name": "t"}
    for tool in (both, neither):
        with pytest.raises(DefinitionError) as info:
            parse_definition(
                one_node("agent", {"provider": "openai", "prompt": "p", "tools": [tool]})
            )
        assert any(p.field == "data.tools" for p in info.value.problems)
