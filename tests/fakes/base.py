"""A threaded HTTP server on a free 127.0.0.1 port that records requests and answers
scripted replies; each provider's fake turns a `Reply` into its own wire format."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["FakeServer", "Recorded", "Reply", "Response", "toy_vector", "words"]


@dataclass(frozen=True)
class Reply:
    """What the fake model answers next: text and/or tool calls, or an HTTP error."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    finish: str | None = None


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """An HTTP answer: a body, or server-sent events written one by one."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str | None, Any]] | None = None

    @classmethod
    def of_json(
        cls, value: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A JSON answer."""
        return cls(status=status, body=json.dumps(value).encode(), headers=headers or {})

    @classmethod
    def of_events(cls, events: Iterable[tuple[str | None, Any]]) -> Response:
        """A `text/event-stream` answer; each event's data is JSON unless it is a str."""
        return cls(content_type="text/event-stream", events=list(events))


def words(text: str) -> list[str]:
    """Lower-case words of `text`."""
    return re.findall(r"[a-z0-9]+", text.lower())


def toy_vector(text: str, dimensions: int = 256) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vector = [0.0] * dimensions
    for word in words(text):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dimensions] += 1.0
    return vector


class FakeServer:
    """Base fake: subclasses implement `route(request, reply)`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with fake._lock:
                    fake.requests.append(request)
                    reply = fake.replies.popleft() if fake.replies else None
                fake._write(self, fake.route(request, reply))

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        """Answer the next model calls with `replies`, in order, then with the default."""
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        """Forget recorded requests and scripted replies."""
        with self._lock:
            self.requests.clear()
            self.replies.clear()

    def calls(self, path_part: str) -> list[Recorded]:
        """Recorded requests whose path contains `path_part`."""
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """The answer to `request`; `reply` is the next scripted reply, if any."""
        raise NotImplementedError

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, response: Response) -> None:
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if response.events is None:
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            handler.wfile.write(response.body)
            return
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        for event, data in response.events:
            text = data if isinstance(data, str) else json.dumps(data)
            line = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
            handler.wfile.write(line.encode())
            handler.wfile.flush()


def pieces(text: str, size: int = 3) -> list[str]:
    """`text` cut into small pieces, as a model streams it."""
    return [text[i : i + size] for i in range(0, len(text), size)] if text else []
