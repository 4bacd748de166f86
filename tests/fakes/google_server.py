"""A fake Gemini server: `generateContent`, `streamGenerateContent?alt=sse` (with function
calls) and `batchEmbedContents` under `/v1beta/models/...`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.base import FakeServer, Recorded, Reply, Response, pieces, toy_vector, words

__all__ = ["FakeGemini"]


MODELS = ("gemini-2.0-flash", "text-embedding-004")
"""What `GET …/models` lists."""


class FakeGemini(FakeServer):
    """Speaks Gemini's REST API; give the node `base_url=url + "/v1beta"`."""

    @property
    def base_url(self) -> str:
        """The node's `base_url`."""
        return self.url + "/v1beta"

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Dispatch on the `:action` of the model path."""
        if reply is not None and reply.status >= 400:
            error = {"error": {"code": reply.status, "message": "fake", "status": "UNAVAILABLE"}}
            return Response.of_json(error, reply.status, reply.headers)
        path = request.path.split("?", 1)[0]
        if path.endswith("/models") and request.method == "GET":
            if request.headers.get("x-goog-api-key", "") in ("", "wrong"):
                return Response.of_json({"error": {"code": 400, "status": "INVALID_ARGUMENT"}}, 400)
            models = [{"name": f"models/{m}", "displayName": m.upper()} for m in MODELS]
            return Response.of_json({"models": models})
        body = request.json()
        if path.endswith(":batchEmbedContents"):
            vectors = [
                {"values": toy_vector(" ".join(p.get("text", "") for p in r["content"]["parts"]))}
                for r in body["requests"]
            ]
            return Response.of_json({"embeddings": vectors})
        model = path.rsplit("/", 1)[-1].split(":", 1)[0]
        last = body["contents"][-1]["parts"]
        reply = reply or Reply(text="echo: " + " ".join(p.get("text", "") for p in last))
        usage = {
            "promptTokenCount": len(words(json.dumps(body["contents"]))),
            "candidatesTokenCount": len(words(reply.text)),
        }
        calls = [{"functionCall": {"name": n, "args": a}} for n, a in reply.tool_calls]
        finish = {"length": "MAX_TOKENS"}.get(reply.finish or "", "STOP")

        def chunk(parts: list[dict[str, Any]], done: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
            if done:
                candidate["finishReason"] = finish
                out["usageMetadata"] = usage
            return out

        if path.endswith(":generateContent"):
            text = [{"text": reply.text}] if reply.text else []
            return Response.of_json(chunk(text + calls, True))
        parts = pieces(reply.text, 5)
        events: list[tuple[str | None, Any]] = [(None, chunk([{"text": p}], False)) for p in parts]
        events.append((None, chunk(calls, True)))
        return Response.of_events(events)
