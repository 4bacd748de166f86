"""A fake HTTP tool for agents: `/weather` answers from the JSON arguments, `/slow`
blocks until released (to stop an executor mid-agent), and every call is recorded."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import FakeServer, Recorded, Reply, Response

__all__ = ["FakeTools"]


class FakeTools(FakeServer):
    """Tool endpoints an agent calls."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.block_first_slow = False

    def reset(self) -> None:
        """Forget requests; `/slow` answers at once again."""
        super().reset()
        self.release = threading.Event()
        self.block_first_slow = False

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Answer a tool call."""
        parts = urlsplit(request.path)
        if parts.path == "/weather":
            args = request.json() if request.body else {}
            if request.method == "GET":
                args = {k: v[0] for k, v in parse_qs(parts.query).items()}
            city = args.get("city", "nowhere")
            return Response.of_json({"city": city, "forecast": f"sunny in {city}"})
        if parts.path == "/slow":
            if self.block_first_slow and len(self.calls("/slow")) == 1:
                self.release.wait(timeout=15)
            return Response.of_json({"done": True})
        if parts.path == "/broken":
            return Response.of_json({"error": "down"}, 503)
        return Response.of_json({"error": "no such tool"}, 404)
