"""Cohere over its v2 REST API (`/v2/chat`, streamed as server-sent events, `/v2/embed`)."""

from __future__ import annotations

import json
from typing import Any

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
from flowmaestro.executors.nodes.ai.providers.rest import post_json, post_sse

__all__ = ["complete", "embed"]

BASE_URL = "https://api.cohere.com"
_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}


def _headers(access: Access) -> dict[str, str]:
    return {"Authorization": f"Bearer {access.api_key}", **access.headers}


def _url(access: Access, path: str) -> str:
    return f"{(access.base_url or BASE_URL).rstrip('/')}/v2/{path}"


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.tool_calls:
        out["tool_calls"] = function_calls(message.tool_calls)
    return out


def _body(access: Access, request: ChatRequest) -> dict[str, Any]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
    body: dict[str, Any] = {
        "model": access.model,
        "messages": messages + [_message(m) for m in request.messages],
        "stream": request.stream,
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop_sequences"] = request.stop
    if request.json_mode:
        body["response_format"] = {"type": "json_object"}
    if request.tools:
        body["tools"] = function_tools(request.tools)
    return body


def _usage(usage: dict[str, Any] | None) -> Usage:
    tokens = (usage or {}).get("tokens") or (usage or {}).get("billed_units") or {}
    return Usage(
        input_tokens=int(tokens.get("input_tokens") or 0),
        output_tokens=int(tokens.get("output_tokens") or 0),
    )


def _call(raw: dict[str, Any]) -> ToolCall:
    function = raw.get("function") or {}
    return ToolCall(
        id=raw.get("id") or "",
        name=function.get("name") or "",
        arguments=json.loads(function.get("arguments") or "{}"),
    )


async def complete(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """One `/v2/chat` call, streamed when `request.stream`."""
    body = _body(access, request)
    url = _url(access, "chat")
    if not request.stream:
        answer = await post_json("cohere", url, _headers(access), body, access.timeout)
        message = answer.get("message") or {}
        content = "".join(c.get("text", "") for c in message.get("content") or [])
        reason = answer.get("finish_reason") or "COMPLETE"
        return ChatResult(
            text=content,
            tool_calls=[_call(c) for c in message.get("tool_calls") or []],
            finish_reason=_FINISH.get(reason, reason.lower()),
            usage=_usage(answer.get("usage")),
            model=access.model,
        )
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish, usage = "stop", Usage()
    async for _event, data in post_sse("cohere", url, _headers(access), body, access.timeout):
        kind = data.get("type")
        delta = (data.get("delta") or {}).get("message") or {}
        if kind == "content-delta":
            piece = ((delta.get("content") or {}).get("text")) or ""
            if piece:
                text.append(piece)
                await on_delta(piece)
        elif kind == "tool-call-start":
            calls[data.get("index", 0)] = dict(delta.get("tool_calls") or {})
        elif kind == "tool-call-delta":
            slot = calls.setdefault(data.get("index", 0), {"function": {"arguments": ""}})
            more = ((delta.get("tool_calls") or {}).get("function") or {}).get("arguments") or ""
            function = slot.setdefault("function", {})
            function["arguments"] = (function.get("arguments") or "") + more
        elif kind == "message-end":
            end = data.get("delta") or {}
            reason = end.get("finish_reason") or "COMPLETE"
            finish = _FINISH.get(reason, reason.lower())
            usage = _usage(end.get("usage"))
    return ChatResult(
        text="".join(text),
        tool_calls=[_call(c) for _, c in sorted(calls.items())],
        finish_reason=finish,
        usage=usage,
        model=access.model,
    )


async def embed(access: Access, texts: list[str], dimensions: int | None) -> list[list[float]]:
    """Vectors for `texts` from `/v2/embed` (as search documents)."""
    body: dict[str, Any] = {
        "model": access.model,
        "texts": texts,
        "input_type": "search_document",
        "embedding_types": ["float"],
    }
    if dimensions:
        body["output_dimension"] = dimensions
    answer = await post_json(
        "cohere", _url(access, "embed"), _headers(access), body, access.timeout
    )
    return [list(v) for v in (answer.get("embeddings") or {}).get("float") or []]
