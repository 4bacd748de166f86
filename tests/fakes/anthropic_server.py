"""A fake Anthropic server: `/v1/messages`, whole or streamed as SSE events, with tool_use."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.base import FakeServer, Recorded, Reply, Response, pieces, words

__all__ = ["FakeAnthropic"]


def _event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        content = message.get("content")
        if message.get("role") != "user":
            continue
        if isinstance(content, str):
            return content
        texts = [b.get("text", "") for b in content if b.get("type") == "text"]
        if texts:
            return " ".join(texts)
    return ""


MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5")
"""What `GET /v1/models` lists."""


class FakeAnthropic(FakeServer):
    """Speaks Anthropic's Messages API; give the SDK `base_url=url`."""

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Answer `/v1/messages`."""
        if reply is not None and reply.status >= 400:
            kind = "rate_limit_error" if reply.status == 429 else "api_error"
            error = {"type": "error", "error": {"type": kind, "message": "fake error"}}
            return Response.of_json(error, reply.status, reply.headers)
        if request.path.startswith("/v1/models") and request.method == "GET":
            if request.headers.get("x-api-key", "") in ("", "wrong"):
                error = {"type": "error", "error": {"type": "authentication_error"}}
                return Response.of_json(error, 401)
            data = [
                {"type": "model", "id": m, "display_name": m.title(), "created_at": "2025-01-01"}
                for m in MODELS
            ]
            return Response.of_json(
                {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}
            )
        if not request.path.startswith("/v1/messages"):
            return Response.of_json({"type": "error", "error": {"type": "not_found_error"}}, 404)
        body = request.json()
        reply = reply or Reply(text=f"echo: {_last_user_text(body)}")
        stop = _STOP.get(reply.finish or ("tool_calls" if reply.tool_calls else "stop"), "end_turn")
        usage_in = len(words(json.dumps(body.get("messages")) + str(body.get("system", ""))))
        usage_out = len(words(reply.text)) + len(reply.tool_calls)
        blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        blocks += [
            {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": args}
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
        }
        if not body.get("stream"):
            return Response.of_json(message)
        start = {**message, "content": [], "stop_reason": None}
        start["usage"] = {"input_tokens": usage_in, "output_tokens": 1}
        events: list[tuple[str | None, Any]] = [
            ("message_start", {"type": "message_start", "message": start})
        ]
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                empty: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
            else:
                empty = {**block, "input": {}}
                raw = json.dumps(block["input"])
                half = len(raw) // 2
                deltas = [
                    {"type": "input_json_delta", "partial_json": part}
                    for part in (raw[:half], raw[half:])
                ]
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": empty},
                )
            )
            events += [
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                for d in deltas
            ]
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": usage_out},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return Response.of_events(events)
