"""Anthropic messages through the official SDK, streamed as server-sent events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from flowmaestro.executors.egress.providers import anthropic_client
from flowmaestro.executors.errors import NodeError, RetryableNodeError
from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import (
    ChatRequest,
    ChatResult,
    Message,
    OnDelta,
    ToolCall,
    Usage,
)
from flowmaestro.executors.nodes.ai.failures import http_failure, node_error_in, transport_failure

__all__ = ["complete"]

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
_DEFAULT_MAX_TOKENS = 4096


@contextlib.asynccontextmanager
async def _sdk_failures() -> AsyncIterator[None]:
    try:
        yield
    except NodeError:
        raise
    except anthropic.APIStatusError as exc:
        raise http_failure(
            "anthropic", exc.status_code, dict(exc.response.headers), str(exc.message)
        ) from exc
    except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
        # The SDK wraps everything its HTTP client raised, the egress policy's refusal too.
        raise node_error_in(exc) or transport_failure("anthropic", exc) from exc
    except anthropic.APIError as exc:
        raise RetryableNodeError(f"anthropic: {exc.message}", kind="provider_error") from exc


def _content(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for image in message.images:
        source = (
            {"type": "url", "url": image.url}
            if image.url
            else {"type": "base64", "media_type": image.media_type, "data": image.data}
        )
        blocks.append({"type": "image", "source": source})
    if message.text:
        blocks.append({"type": "text", "text": message.text})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Anthropic wants tool results inside a user turn, and turns alternating."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.text,
            }
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        out.append({"role": message.role, "content": _content(message)})
    return out


def _body(access: Access, request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": access.model,
        "max_tokens": request.max_tokens or _DEFAULT_MAX_TOKENS,
        "messages": _messages(request.messages),
    }
    if request.system:
        body["system"] = request.system
    if request.temperature is not None:
        # This SDK's signature no longer names `temperature`; the field still travels.
        body["extra_body"] = {"temperature": request.temperature}
    if request.stop:
        body["stop_sequences"] = request.stop
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    return body


async def complete(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """One messages call, streamed event by event (or whole when not streaming)."""
    body = _body(access, request)
    async with (
        anthropic_client(access.api_key, access.base_url, access.timeout, access.headers) as sdk,
        _sdk_failures(),
    ):
        if not request.stream:
            message = await sdk.messages.create(**body)
            text = "".join(b.text for b in message.content if b.type == "text")
            calls = [
                ToolCall(id=b.id, name=b.name, arguments=dict(b.input))  # type: ignore[arg-type]
                for b in message.content
                if b.type == "tool_use"
            ]
            return ChatResult(
                text=text,
                tool_calls=calls,
                finish_reason=_FINISH.get(message.stop_reason or "", message.stop_reason or "stop"),
                usage=Usage(
                    input_tokens=message.usage.input_tokens,
                    output_tokens=message.usage.output_tokens,
                ),
                model=message.model,
            )
        return await _streamed(sdk, body, access, on_delta)


async def _streamed(
    sdk: anthropic.AsyncAnthropic, body: dict[str, Any], access: Access, on_delta: OnDelta
) -> ChatResult:
    stream = await sdk.messages.create(**body, stream=True)
    text: list[str] = []
    blocks: dict[int, dict[str, Any]] = {}
    finish = "stop"
    input_tokens = output_tokens = 0
    model = access.model
    async for event in stream:
        match event.type:
            case "message_start":
                model = event.message.model or model
                input_tokens = event.message.usage.input_tokens
                output_tokens = event.message.usage.output_tokens
            case "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    blocks[event.index] = {"id": block.id, "name": block.name, "json": ""}
            case "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    text.append(delta.text)
                    await on_delta(delta.text)
                elif delta.type == "input_json_delta" and event.index in blocks:
                    blocks[event.index]["json"] += delta.partial_json
            case "message_delta":
                reason = event.delta.stop_reason
                if reason:
                    finish = _FINISH.get(reason, reason)
                output_tokens = event.usage.output_tokens or output_tokens
            case _:
                pass
    calls = [
        ToolCall(id=b["id"], name=b["name"], arguments=json.loads(b["json"] or "{}"))
        for _, b in sorted(blocks.items())
    ]
    return ChatResult(
        text="".join(text),
        tool_calls=calls,
        finish_reason=finish,
        usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
        model=model,
    )
