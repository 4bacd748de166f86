"""The `agent` executor: an LLM that calls HTTP tools in a loop.

Each model turn and each tool call is recorded durably (`node.progress`) before the loop
moves on, so a command delivered again after a crash replays what is recorded and only
makes the calls that had not finished.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from flowmaestro.events.catalogue import workflow_key
from flowmaestro.events.catalogue.ai import AgentConfig, AgentTool
from flowmaestro.events.names import call_key
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.egress import EGRESS_KIND, send
from flowmaestro.executors.errors import NodeError
from flowmaestro.executors.nodes.ai.access import Access, open_access
from flowmaestro.executors.nodes.ai.chat import (
    ChatRequest,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
)
from flowmaestro.executors.nodes.ai.llm import answer_json, result_output, system_prompt, wants_json
from flowmaestro.executors.nodes.ai.pricing import estimate_cost
from flowmaestro.executors.nodes.ai.providers import chat

__all__ = ["call_tool", "run_agent"]

_MAX_TOOL_TEXT = 32 * 1024
_MAX_TOOL_BYTES = 1024 * 1024


async def call_tool(
    tool: AgentTool, call: ToolCall, idempotency_key: str, timeout: float
) -> dict[str, Any]:
    """Call one HTTP tool through the egress policy; failures become the tool's answer, so
    the model can react, but a target the policy refuses fails the node."""
    assert tool.url is not None, "HTTP tools have a url (the catalogue checks it)"
    headers = {"Idempotency-Key": idempotency_key, **tool.headers}
    try:
        if tool.method == "GET":
            params = {k: str(v) for k, v in call.arguments.items()}
            reply = await send(
                "GET",
                tool.url,
                params=params,
                headers=headers,
                timeout=timeout,
                max_bytes=_MAX_TOOL_BYTES,
            )
        else:
            reply = await send(
                tool.method,
                tool.url,
                json_body=call.arguments,
                headers=headers,
                timeout=timeout,
                max_bytes=_MAX_TOOL_BYTES,
            )
    except NodeError as exc:
        if exc.kind == EGRESS_KIND:
            raise  # the tool's URL is the workflow's, not the model's: the node fails
        # A failed call is the tool's answer, so the model can react.
        return {"ok": False, "status": None, "content": f"error: {exc.kind}: {exc.message}"}
    text = reply.body.decode(errors="replace")
    if len(text) > _MAX_TOOL_TEXT:
        text = text[:_MAX_TOOL_TEXT] + "…(cut)"
    return {"ok": reply.status < 400, "status": reply.status, "content": text}


def _spec(tool: AgentTool) -> ToolSpec:
    return ToolSpec(name=tool.name, description=tool.description, parameters=tool.parameters)


async def run_agent(ctx: NodeContext, config: AgentConfig) -> NodeResult:
    """Loop model turns and tool calls until an answer or the step or cost budget."""
    access = await open_access(
        ctx, config.provider, config.model, config.integration_id, config.base_url
    )
    tools = {t.name: t for t in config.tools}
    request = ChatRequest(
        messages=[Message(role="user", text=config.prompt)],
        system=system_prompt(config),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        stop=list(config.stop),
        tools=[_spec(t) for t in config.tools],
        stream=config.stream,
    )
    records = await ctx.recorded()
    messages = list(request.messages)
    usage = Usage()
    calls: list[dict[str, Any]] = []
    result = ChatResult(model=access.model)
    for step in range(1, config.max_steps + 1):
        turn = f"turn-{step}"
        if turn in records:
            result = msgspec.convert(records[turn], ChatResult)
        else:
            call_access = access if step == 1 else access.for_call(turn)
            result = await chat(call_access, _with(request, messages), ctx.stream)
            await ctx.record(turn, msgspec.to_builtins(result))
        usage = usage + result.usage
        messages.append(Message(role="assistant", text=result.text, tool_calls=result.tool_calls))
        if not result.tool_calls:
            output = await _final(ctx, access, request, messages, result, usage, config)
            return NodeResult(output={**output, "steps": step, "tool_calls": calls})
        for call in result.tool_calls:
            key = f"tool-{step}-{call.id}"
            if key in records:
                outcome = records[key]
            else:
                outcome = await _run_call(ctx, tools, call, key, config.tool_timeout_seconds)
                await ctx.record(key, outcome)
            calls.append({"step": step, "id": call.id, "name": call.name, **outcome})
            messages.append(
                Message(
                    role="tool",
                    text=str(outcome.get("content", "")),
                    tool_call_id=call.id,
                    tool_name=call.name,
                )
            )
        cost = estimate_cost(result.model, usage.input_tokens, usage.output_tokens)
        if config.max_cost_usd is not None and cost is not None and cost >= config.max_cost_usd:
            return _stopped(result, usage, step, calls, "max_cost")
    return _stopped(result, usage, config.max_steps, calls, "max_steps")


async def _run_call(
    ctx: NodeContext, tools: dict[str, AgentTool], call: ToolCall, key: str, timeout: float
) -> dict[str, Any]:
    tool = tools.get(call.name)
    if tool is None:
        return {"ok": False, "status": None, "content": f"error: no tool named {call.name!r}"}
    await ctx.heartbeat()
    if tool.workflow_id is not None:
        return await _call_workflow(ctx, tool, call, key, timeout)
    return await call_tool(tool, call, call_key(ctx.idempotency_key, key), timeout)


async def _call_workflow(
    ctx: NodeContext, tool: AgentTool, call: ToolCall, key: str, timeout: float
) -> dict[str, Any]:
    """Run the tool's workflow as a child execution with the arguments as its inputs."""
    assert tool.workflow_id is not None
    workflows = ctx.command.workflows or {}
    definition = workflows.get(workflow_key(tool.workflow_id, tool.version)) or (
        workflows.get(tool.workflow_id) if tool.version is None else None
    )
    if definition is None:
        message = (
            f"error: workflow {workflow_key(tool.workflow_id, tool.version)!r} is not available"
        )
        return {"ok": False, "status": None, "content": message}
    result = await ctx.run_workflow(key, definition, dict(call.arguments), timeout)
    answer = result["outputs"] if result["ok"] else f"error: {result['error']}"
    content = answer if isinstance(answer, str) else msgspec.json.encode(answer).decode()
    return {
        "ok": result["ok"],
        "status": result["status"],
        "content": content,
        "execution_id": result["execution_id"],
    }


async def _final(
    ctx: NodeContext,
    access: Access,
    request: ChatRequest,
    messages: list[Message],
    result: ChatResult,
    usage: Usage,
    config: AgentConfig,
) -> dict[str, Any]:
    if not wants_json(config):
        return result_output(result, usage)
    final, json_usage, parsed = await answer_json(
        ctx, access.for_call("final"), _with(request, messages[:-1]), result, config.json_schema
    )
    extra = Usage(
        input_tokens=json_usage.input_tokens - result.usage.input_tokens,
        output_tokens=json_usage.output_tokens - result.usage.output_tokens,
    )
    return result_output(final, usage + extra, parsed)


def _stopped(
    result: ChatResult, usage: Usage, steps: int, calls: list[dict[str, Any]], why: str
) -> NodeResult:
    stopped = msgspec.structs.replace(result, finish_reason=why)
    return NodeResult(output={**result_output(stopped, usage), "steps": steps, "tool_calls": calls})


def _with(request: ChatRequest, messages: list[Message]) -> ChatRequest:
    return replace(request, messages=list(messages))
