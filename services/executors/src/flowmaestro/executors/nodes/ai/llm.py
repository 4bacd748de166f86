"""The `llm` executor: one model call with streamed tokens and optional JSON output."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from flowmaestro.events.catalogue.ai import LLMConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.access import Access, open_access
from flowmaestro.executors.nodes.ai.chat import ChatRequest, ChatResult, Message, Usage
from flowmaestro.executors.nodes.ai.pricing import estimate_cost
from flowmaestro.executors.nodes.ai.providers import chat
from flowmaestro.executors.nodes.ai.structured import json_instruction, parse_json

__all__ = ["answer_json", "result_output", "run_llm", "system_prompt", "wants_json"]


def wants_json(config: LLMConfig) -> bool:
    """True when the node asks for JSON output."""
    return config.output_format == "json" or config.json_schema is not None


def system_prompt(config: LLMConfig) -> str:
    """The system prompt, with the JSON instruction appended when JSON is wanted."""
    if not wants_json(config):
        return config.system_prompt
    return "\n\n".join(p for p in (config.system_prompt, json_instruction(config.json_schema)) if p)


def result_output(result: ChatResult, usage: Usage, parsed: Any = msgspec.UNSET) -> dict[str, Any]:
    """The durable output of a chat-style node (`json` only when JSON was asked for)."""
    output: dict[str, Any] = {
        "text": result.text,
        "model": result.model,
        "finish_reason": result.finish_reason,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
        },
        "cost_usd": estimate_cost(result.model, usage.input_tokens, usage.output_tokens),
    }
    if parsed is not msgspec.UNSET:
        output["json"] = parsed
    return output


async def run_llm(ctx: NodeContext, config: LLMConfig) -> NodeResult:
    """Call the model; stream tokens live; validate JSON and ask once for a repair."""
    access = await open_access(
        ctx, config.provider, config.model, config.integration_id, config.base_url
    )
    request = ChatRequest(
        messages=[Message(role="user", text=config.prompt)],
        system=system_prompt(config),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        stop=list(config.stop),
        json_mode=wants_json(config),
        stream=config.stream,
    )
    result = await chat(access, request, ctx.stream)
    if not wants_json(config):
        return NodeResult(output=result_output(result, result.usage))
    result, usage, parsed = await answer_json(ctx, access, request, result, config.json_schema)
    return NodeResult(output=result_output(result, usage, parsed))


async def answer_json(
    ctx: NodeContext,
    access: Access,
    request: ChatRequest,
    result: ChatResult,
    schema: dict[str, Any] | None,
) -> tuple[ChatResult, Usage, Any]:
    """Parse the answer as JSON; on a problem ask once for a repair, then give up (terminal).

    Returns the final result, the usage of both calls, and the parsed value.
    """
    usage = result.usage
    parsed, problem = parse_json(result.text, schema)
    if problem is None:
        return result, usage, parsed
    repair = [
        *request.messages,
        Message(role="assistant", text=result.text),
        Message(role="user", text=f"Your answer {problem}. Reply again with corrected JSON only."),
    ]
    await ctx.stream("\n")
    repair_request = replace(request, messages=repair, tools=[])
    result = await chat(access.for_call("repair"), repair_request, ctx.stream)
    usage = usage + result.usage
    parsed, problem = parse_json(result.text, schema)
    if problem is not None:
        raise TerminalNodeError(
            f"the model's answer {problem} (after one repair request)", kind="invalid_json"
        )
    return result, usage, parsed
