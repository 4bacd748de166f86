"""A fake Cohere server: `/v2/chat` (whole, or streamed as SSE with tool-call events) and
`/v2/embed`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.base import FakeServer, Recorded, Reply, Response, pieces, toy_vector, words

__all__ = ["FakeCohere"]


def _event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


MODELS = ("command-r-plus", "embed-english-v3.0")
"""What `GET /v1/models` lists."""


class FakeCohere(FakeServer):
    """Speaks Cohere's v2 REST API; give the node `base_url=url`."""

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Dispatch by path."""
        if reply is not None and reply.status >= 400:
            return Response.of_json({"message": "fake error"}, reply.status, reply.headers)
        if request.path.startswith("/v1/models") and request.method == "GET":
            if request.headers.get("authorization", "") in ("", "Bearer ", "Bearer wrong"):
                return Response.of_json({"message": "invalid api token"}, 401)
            return Response.of_json({"models": [{"name": m} for m in MODELS]})
        body = request.json()
        if request.path.startswith("/v2/embed"):
            vectors = [toy_vector(t) for t in body["texts"]]
            return Response.of_json({"id": "e", "embeddings": {"float": vectors}})
        last = next(m for m in reversed(body["messages"]) if m["role"] == "user")
        reply = reply or Reply(text=f"echo: {last['content']}")
        usage = {
            "tokens": {
                "input_tokens": len(words(json.dumps(body["messages"]))),
                "output_tokens": len(words(reply.text)),
            }
        }
        finish = "TOOL_CALL" if reply.tool_calls else "COMPLETE"
        calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a)},
            }
            for i, (n, a) in enumerate(reply.tool_calls)
        ]
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": [{"type": "text", "text": reply.text}] if reply.text else [],
            }
            if calls:
                message["tool_calls"] = calls
            return Response.of_json(
                {"id": "c", "finish_reason": finish, "message": message, "usage": usage}
            )
        events: list[tuple[str | None, Any]] = [
            (
                "message-start",
                {"type": "message-start", "id": "c", "delta": {"message": {"role": "assistant"}}},
            )
        ]
        for piece in pieces(reply.text):
            delta = {"message": {"content": {"type": "text", "text": piece}}}
            events.append(("content-delta", {"type": "content-delta", "index": 0, "delta": delta}))
        for i, call in enumerate(calls):
            start = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
            events.append(
                (
                    "tool-call-start",
                    {
                        "type": "tool-call-start",
                        "index": i,
                        "delta": {"message": {"tool_calls": start}},
                    },
                )
            )
            more = {"tool_calls": {"function": {"arguments": call["function"]["arguments"]}}}
            events.append(
                (
                    "tool-call-delta",
                    {"type": "tool-call-delta", "index": i, "delta": {"message": more}},
                )
            )
        end = {"finish_reason": finish, "usage": usage}
        events.append(("message-end", {"type": "message-end", "delta": end}))
        return Response.of_events(events)
