"""The gateway's requests, observed: a server span per request (continuing the caller's
`traceparent`), and the request count and latency by route template and status."""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from flowmaestro.events.names import Header
from flowmaestro.runtime import tracing
from flowmaestro.runtime.metrics import GatewayMetrics

__all__ = ["observe_requests"]

_TRACEPARENT = Header.TRACEPARENT.encode()
_EVENT_STREAM = b"text/event-stream"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def observe_requests(metrics: GatewayMetrics) -> Any:
    """The middleware factory Litestar applies around every route (after routing, so the
    route template is known: labels stay few however many ids the paths hold)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            method = scope.get("method", "GET")
            route = scope.get("path_template") or "unmatched"
            incoming = _header(scope, _TRACEPARENT)
            begin = time.perf_counter()
            status = 500
            streaming = False
            span: Any = None

            async def observed_send(message: Message) -> None:
                nonlocal status, streaming
                if message["type"] == "http.response.start":
                    status = message["status"]
                    streaming = any(
                        k.lower() == b"content-type" and v.startswith(_EVENT_STREAM)
                        for k, v in message.get("headers", ())
                    )
                    if span is not None:
                        span.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            tracing.mark_failed(span, f"HTTP {status}")
                await send(message)

            try:
                with (
                    tracing.incoming_traceparent(lambda: incoming),
                    tracing.span(
                        "gateway",
                        f"{method} {route}",
                        incoming,
                        kind="server",
                        attributes={"http.request.method": method, "http.route": route},
                    ) as span,
                ):
                    await app(scope, receive, observed_send)
            finally:
                seconds = None if streaming else time.perf_counter() - begin
                metrics.request(method, route, status, seconds)

        return middleware

    return factory
