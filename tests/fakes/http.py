"""A tiny HTTP/1.1 server on 127.0.0.1 and a free port, answering through a handler.

Real clients talk to it over real sockets; it records every request it received.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeHttpServer", "Request", "Response"]


@dataclass
class Request:
    """One received request; header names are lower case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The path without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters."""
        return parse_qs(urlsplit(self.target).query)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Response:
    """What the handler answers; a dict or list body is sent as JSON."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The response on the wire."""
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            payload = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(self.body, str):
            payload = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = bytes(self.body)
        headers["Content-Length"] = str(len(payload))
        headers["Connection"] = "close"
        head = f"HTTP/1.1 {self.status} X\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        return head.encode() + b"\r\n" + payload


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class FakeHttpServer:
    """Serves `handler` on 127.0.0.1; use as `async with FakeHttpServer(handler) as server`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeHttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode().strip()
            if not request_line:
                return
            method, target, _version = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(method, target, headers, body)
            self.requests.append(request)
            answer = self.handler(request)
            if inspect.isawaitable(answer):
                answer = await answer
            assert isinstance(answer, Response)
            writer.write(answer.encode())
            await writer.drain()
        finally:
            writer.close()
