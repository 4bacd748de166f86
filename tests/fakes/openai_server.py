"""A fake OpenAI-compatible server: chat completions (whole and streamed as SSE, with
tool calls), embeddings, image generation, audio transcription and speech."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.fakes.base import FakeServer, Recorded, Reply, Response, pieces, toy_vector, words

__all__ = ["PNG", "FakeOpenAI"]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
"""A one-pixel PNG, the image every generation returns."""


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content or "")
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    return len(words(json.dumps(body.get("messages") or [])))


MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
"""What `GET /v1/models` lists."""


class FakeOpenAI(FakeServer):
    """Speaks OpenAI's REST API under `/v1`; point the SDK's `base_url` at `url + "/v1"`."""

    @property
    def base_url(self) -> str:
        """The `base_url` to give the SDK."""
        return self.url + "/v1"

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Dispatch by path."""
        if reply is not None and reply.status >= 400:
            error = {"error": {"message": f"fake error {reply.status}", "type": "fake"}}
            return Response.of_json(error, reply.status, reply.headers)
        path = request.path.split("?", 1)[0]
        if path.endswith("/models") and request.method == "GET":
            if request.headers.get("authorization", "") in ("", "Bearer ", "Bearer wrong"):
                return Response.of_json({"error": {"message": "bad key"}}, 401)
            data = [{"id": m, "object": "model", "created": 1, "owned_by": "fake"} for m in MODELS]
            return Response.of_json({"object": "list", "data": data})
        if path.endswith("/chat/completions"):
            return self._chat(request.json(), reply)
        if path.endswith("/embeddings"):
            return self._embeddings(request.json())
        if path.endswith("/images/generations"):
            prompt = request.json().get("prompt", "")
            data = [{"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": f"{prompt}!"}]
            return Response.of_json({"created": 1, "data": data})
        if path.endswith("/audio/transcriptions"):
            text = reply.text if reply else f"heard {len(request.body)} bytes"
            return Response.of_json({"text": text})
        if path.endswith("/audio/speech"):
            said = request.json().get("input", "")
            return Response(body=b"FAKEAUDIO:" + said.encode(), content_type="audio/mpeg")
        return Response.of_json({"error": {"message": f"no route {path}"}}, 404)

    def _chat(self, body: dict[str, Any], reply: Reply | None) -> Response:
        reply = reply or Reply(text=f"echo: {_last_user_text(body)}")
        model = body.get("model", "fake")
        finish = reply.finish or ("tool_calls" if reply.tool_calls else "stop")
        usage = {
            "prompt_tokens": _prompt_tokens(body),
            "completion_tokens": len(words(reply.text)) + len(reply.tool_calls),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
        base = {"id": "chatcmpl-fake", "created": 1, "model": model}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
            if calls:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return Response.of_json(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )
        chunk = {**base, "object": "chat.completion.chunk"}

        def delta(d: dict[str, Any], finish_reason: str | None = None) -> tuple[None, Any]:
            choice = {"index": 0, "delta": d, "finish_reason": finish_reason}
            return None, {**chunk, "choices": [choice]}

        events = [delta({"role": "assistant", "content": ""})]
        events += [delta({"content": piece}) for piece in pieces(reply.text)]
        for i, call in enumerate(calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            first = {"index": i, "id": call["id"], "type": "function"}
            events.append(
                delta(
                    {
                        "tool_calls": [
                            {
                                **first,
                                "function": {
                                    "name": call["function"]["name"],
                                    "arguments": arguments[:half],
                                },
                            }
                        ]
                    }
                )
            )
            events.append(
                delta({"tool_calls": [{"index": i, "function": {"arguments": arguments[half:]}}]})
            )
        events.append(delta({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**chunk, "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        return Response.of_events(events)

    def _embeddings(self, body: dict[str, Any]) -> Response:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        dimensions = int(body.get("dimensions") or 256)
        data = [
            {"object": "embedding", "index": i, "embedding": toy_vector(t, dimensions)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(len(words(t)) for t in texts)
        return Response.of_json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
