"""Google Gemini over its REST API (`generateContent`, `streamGenerateContent?alt=sse`,
`batchEmbedContents`)."""

from __future__ import annotations

import itertools
from typing import Any

from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import (
    ChatRequest,
    ChatResult,
    Message,
    OnDelta,
    ToolCall,
    Usage,
)
from flowmaestro.executors.nodes.ai.providers.rest import post_json, post_sse

__all__ = ["complete", "embed"]

BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


def _url(access: Access, action: str) -> str:
    base = (access.base_url or BASE_URL).rstrip("/")
    return f"{base}/models/{access.model}:{action}"


def _headers(access: Access) -> dict[str, str]:
    return {"x-goog-api-key": access.api_key, **access.headers}


def _parts(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "functionResponse": {
                    "name": message.tool_name or "",
                    "response": {"content": message.text},
                }
            }
        ]
    parts: list[dict[str, Any]] = []
    for image in message.images:
        if image.data:
            parts.append({"inlineData": {"mimeType": image.media_type, "data": image.data}})
        elif image.url:
            parts.append({"fileData": {"mimeType": image.media_type, "fileUri": image.url}})
    if message.text:
        parts.append({"text": message.text})
    parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in message.tool_calls]
    return parts


def _body(request: ChatRequest) -> dict[str, Any]:
    role = {"user": "user", "tool": "user", "assistant": "model"}
    body: dict[str, Any] = {
        "contents": [{"role": role[m.role], "parts": _parts(m)} for m in request.messages]
    }
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        config["stopSequences"] = request.stop
    if request.json_mode:
        config["responseMimeType"] = "application/json"
    if config:
        body["generationConfig"] = config
    if request.tools:
        body["tools"] = [
            {
                "functionDeclarations": [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in request.tools
                ]
            }
        ]
    return body


class _Answer:
    """Accumulates one answer from whole or streamed `GenerateContentResponse`s."""

    def __init__(self, model: str) -> None:
        self.text: list[str] = []
        self.calls: list[ToolCall] = []
        self.finish: str = "stop"
        self.usage = Usage()
        self.model = model
        self._ids = itertools.count(1)

    async def add(self, chunk: dict[str, Any], on_delta: OnDelta | None) -> None:
        self.model = chunk.get("modelVersion") or self.model
        meta = chunk.get("usageMetadata") or {}
        if meta:
            self.usage = Usage(
                input_tokens=int(meta.get("promptTokenCount") or 0),
                output_tokens=int(meta.get("candidatesTokenCount") or 0),
            )
        for candidate in chunk.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                if "text" in part:
                    self.text.append(part["text"])
                    if on_delta is not None:
                        await on_delta(part["text"])
                if "functionCall" in part:
                    call = part["functionCall"]
                    self.calls.append(
                        ToolCall(
                            id=call.get("id") or f"call_{next(self._ids)}",
                            name=call["name"],
                            arguments=call.get("args") or {},
                        )
                    )
            if candidate.get("finishReason"):
                reason = str(candidate["finishReason"])
                self.finish = _FINISH.get(reason, reason.lower())

    def result(self) -> ChatResult:
        return ChatResult(
            text="".join(self.text),
            tool_calls=self.calls,
            finish_reason="tool_calls" if self.calls else self.finish,
            usage=self.usage,
            model=self.model,
        )


async def complete(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """One `generateContent` call, streamed over SSE when `request.stream`."""
    answer = _Answer(access.model)
    body = _body(request)
    if request.stream:
        url = _url(access, "streamGenerateContent") + "?alt=sse"
        async for _event, chunk in post_sse("google", url, _headers(access), body, access.timeout):
            await answer.add(chunk, on_delta)
    else:
        chunk = await post_json(
            "google", _url(access, "generateContent"), _headers(access), body, access.timeout
        )
        await answer.add(chunk, None)
    return answer.result()


async def embed(access: Access, texts: list[str], dimensions: int | None) -> list[list[float]]:
    """Vectors for `texts` from `batchEmbedContents`."""
    requests = []
    for text in texts:
        item: dict[str, Any] = {
            "model": f"models/{access.model}",
            "content": {"parts": [{"text": text}]},
        }
        if dimensions:
            item["outputDimensionality"] = dimensions
        requests.append(item)
    answer = await post_json(
        "google",
        _url(access, "batchEmbedContents"),
        _headers(access),
        {"requests": requests},
        access.timeout,
    )
    return [list(e["values"]) for e in answer.get("embeddings") or []]
