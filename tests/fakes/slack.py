"""A fake Slack Web API (`chat.postMessage`) over real HTTP, as Slack answers it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHttpServer, Request, Response

__all__ = ["FakeSlack"]


@dataclass
class FakeSlack:
    """Channels, a bot token, posted messages; `rate_limited` answers 429 that many times."""

    token: str = "xoxb-test"
    channels: set[str] = field(default_factory=lambda: {"C1"})
    messages: list[dict[str, Any]] = field(default_factory=list)
    rate_limited: int = 0
    _seq: int = 0

    def server(self) -> FakeHttpServer:
        """The HTTP server; its `url` is the integration's `base_url`."""
        return FakeHttpServer(self.handle)

    def handle(self, request: Request) -> Response:
        """Answer one Web API call."""
        if request.path != "/chat.postMessage":
            return Response(200, {"ok": False, "error": "unknown_method"})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(200, {"ok": False, "error": "invalid_auth"})
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        body = request.json()
        if body.get("channel") not in self.channels:
            return Response(200, {"ok": False, "error": "channel_not_found"})
        if not body.get("text") and not body.get("blocks"):
            return Response(200, {"ok": False, "error": "no_text"})
        for message in self.messages:
            if body.get("client_msg_id") and message["client_msg_id"] == body["client_msg_id"]:
                return Response(200, {"ok": True, "channel": body["channel"], **message})
        thread_ts = body.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages):
            return Response(200, {"ok": False, "error": "thread_not_found"})
        self._seq += 1
        message = {
            "ts": f"1700000000.{self._seq:06d}",
            "text": body.get("text"),
            "client_msg_id": body.get("client_msg_id"),
            "thread_ts": thread_ts,
        }
        self.messages.append(message)
        return Response(
            200,
            {"ok": True, "channel": body["channel"], "ts": message["ts"], "message": message},
        )
