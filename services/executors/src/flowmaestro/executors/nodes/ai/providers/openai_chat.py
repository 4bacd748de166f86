"""OpenAI chat completions through the official SDK; also any OpenAI-compatible server
(Ollama, vLLM, llama.cpp) named by `base_url`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import openai

from flowmaestro.executors.egress.providers import openai_client
from flowmaestro.executors.errors import NodeError, RetryableNodeError
from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import (
    ChatRequest,
    ChatResult,
    Message,
    OnDelta,
    ToolCall,
    Usage,
    function_calls,
    function_tools,
)
from flowmaestro.executors.nodes.ai.failures import http_failure, node_error_in, transport_failure

__all__ = ["client", "complete", "sdk_failures"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def client(access: Access) -> contextlib.AbstractAsyncContextManager[openai.AsyncOpenAI]:
    """An SDK client for one call with `access`, through the egress policy (the shared
    client of its endpoint and key; leaving the block does not close it)."""
    return openai_client(access.api_key, access.base_url, access.timeout, access.headers)


@contextlib.asynccontextmanager
async def sdk_failures(provider: str = "openai") -> AsyncIterator[None]:
    """Turn the SDK's errors into retryable or terminal node errors."""
    try:
        yield
    except NodeError:
        raise
    except openai.APIStatusError as exc:
        raise http_failure(
            provider, exc.status_code, dict(exc.response.headers), str(exc.message)
        ) from exc
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        # The SDK wraps everything its HTTP client raised, the egress policy's refusal too.
        raise node_error_in(exc) or transport_failure(provider, exc) from exc
    except openai.APIError as exc:
        # An error event inside a stream that had already begun.
        raise RetryableNodeError(f"{provider}: {exc.message}", kind="provider_error") from exc


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    if message.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if message.tool_calls:
            out["tool_calls"] = function_calls(message.tool_calls)
        return out
    if not message.images:
        return {"role": "user", "content": message.text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}]
    for image in message.images:
        url = image.url or f"data:{image.media_type};base64,{image.data}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": "user", "content": parts}


def _body(access: Access, request: ChatRequest) -> dict[str, Any]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
    messages += [_message(m) for m in request.messages]
    body: dict[str, Any] = {"model": access.model, "messages": messages}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop"] = request.stop
    if request.tools:
        body["tools"] = function_tools(request.tools)
    if request.json_mode:
        body["response_format"] = {"type": "json_object"}
    return body


def _finish(reason: str | None) -> str:
    return _FINISH.get(reason or "stop", reason or "stop")


def _arguments(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}


async def complete(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """One chat completion, streamed when `request.stream`."""
    body = _body(access, request)
    async with client(access) as sdk, sdk_failures(access.provider):
        if not request.stream:
            response = await sdk.chat.completions.create(**body)
            choice = response.choices[0]
            calls = [
                ToolCall(id=c.id, name=c.function.name, arguments=_arguments(c.function.arguments))
                for c in choice.message.tool_calls or []
                if c.type == "function"
            ]
            usage = response.usage
            return ChatResult(
                text=choice.message.content or "",
                tool_calls=calls,
                finish_reason=_finish(choice.finish_reason),
                usage=Usage(
                    input_tokens=usage.prompt_tokens if usage else 0,
                    output_tokens=usage.completion_tokens if usage else 0,
                ),
                model=response.model or access.model,
            )
        return await _streamed(sdk, body, access, on_delta)


async def _streamed(
    sdk: openai.AsyncOpenAI, body: dict[str, Any], access: Access, on_delta: OnDelta
) -> ChatResult:
    stream = await sdk.chat.completions.create(
        **body, stream=True, stream_options={"include_usage": True}
    )
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish = "stop"
    usage = Usage()
    model = access.model
    async for chunk in stream:
        model = chunk.model or model
        if chunk.usage:
            usage = Usage(
                input_tokens=chunk.usage.prompt_tokens,
                output_tokens=chunk.usage.completion_tokens,
            )
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                text.append(delta.content)
                await on_delta(delta.content)
            for call in delta.tool_calls or []:
                slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
            if choice.finish_reason:
                finish = _finish(choice.finish_reason)
    tool_calls = [
        ToolCall(id=c["id"], name=c["name"], arguments=_arguments(c["arguments"]))
        for _, c in sorted(calls.items())
    ]
    return ChatResult(
        text="".join(text), tool_calls=tool_calls, finish_reason=finish, usage=usage, model=model
    )
