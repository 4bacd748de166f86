"""HTTP for nodes: a transport that checks and pins every request (each redirect hop is a
request of its own), clients built on it, and one whole-body request helper."""

from __future__ import annotations

import functools
import json
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from flowmaestro.executors.egress.policy import resolve
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.runtime import tracing

__all__ = [
    "MAX_REDIRECTS",
    "GuardedTransport",
    "HttpReply",
    "http_client",
    "pin",
    "send",
    "traced",
]

R = TypeVar("R")

MAX_REDIRECTS = 5


async def pin(request: Any) -> Any:
    """Check `request`'s target and point it at the checked address; returns the URL to
    restore afterwards. Works for requests of `httpx` and of its fork `httpx2`, which the
    provider SDKs use."""
    url = request.url
    if url.scheme not in ("http", "https") or not url.host:
        raise TerminalNodeError(f"only http and https URLs are allowed: {url}", kind="url")
    host = url.raw_host.decode("ascii")
    address = await resolve(host, url.port or (443 if url.scheme == "https" else 80))
    if url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": host}
    request.url = url.copy_with(host=address)
    return url


async def traced(request: Any, send: Callable[[], Awaitable[R]]) -> R:
    """`send()` inside a client span of the node attempt's trace (when tracing is on).
    The span names the method, host and port, never the path or query, which may carry
    credentials (webhook URLs, API keys)."""
    if not tracing.enabled():
        return await send()
    url = request.url
    with tracing.span(
        "executors",
        f"HTTP {request.method}",
        kind="client",
        attributes={
            "http.request.method": request.method,
            "url.scheme": url.scheme,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
        },
    ) as span:
        response = await send()
        if span is not None:
            status = getattr(response, "status_code", 0)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                tracing.mark_failed(span, f"HTTP {status}")
        return response


def _tls() -> ssl.SSLContext:
    """One TLS context per trust setting (httpx's default trust, which `SSL_CERT_FILE` and
    `SSL_CERT_DIR` change): building one costs tens of milliseconds of CPU."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Resolves each request's host through the egress policy and connects to the checked
    address; the host still names the site for `Host` and TLS (SNI and certificate)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0, verify=_tls())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the target, pin its address, and send."""
        return await traced(request, lambda: self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        url = await pin(request)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            request.url = url

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._inner.aclose()


def http_client(
    timeout: float = 30.0,
    *,
    follow_redirects: bool = False,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """An HTTP client whose every request passes the egress policy; environment proxies
    are ignored, and at most `MAX_REDIRECTS` redirects are followed (each one checked)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(),
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
        headers=headers,
    )


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A response read in full (within the size cap)."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json_or_text(self) -> Any:
        """The body parsed as JSON when it says so (or looks like it), else as text."""
        text = self.body.decode(errors="replace")
        content_type = self.headers.get("content-type", "")
        if "json" in content_type or (not content_type and text[:1] in "{["):
            try:
                return json.loads(text) if text else None
            except ValueError:
                return text
        return text


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise TerminalNodeError(
                f"the response is larger than {max_bytes} bytes", kind="response_too_large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    content: bytes | None = None,
    json_body: Any = None,
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
    follow_redirects: bool = True,
) -> HttpReply:
    """Send one request through the egress policy and read the whole response (within
    `max_bytes`). A redirect to another origin drops the `Authorization` header."""
    try:
        target = httpx.URL(url, params=params or None)
    except (httpx.InvalidURL, ValueError) as exc:
        raise TerminalNodeError(f"not a valid URL: {url!r}: {exc}", kind="url") from exc
    async with http_client(timeout, follow_redirects=follow_redirects) as client:
        try:
            request = client.build_request(
                method, target, headers=headers, content=content, json=json_body
            )
            response = await client.send(request, stream=True)
            try:
                body = await _read(response, max_bytes)
            finally:
                await response.aclose()
        except httpx.TooManyRedirects as exc:
            raise TerminalNodeError(
                f"more than {MAX_REDIRECTS} redirects", kind="redirects"
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise TerminalNodeError(f"{method} {url}: {exc}", kind="url") from exc
        except httpx.TimeoutException as exc:
            raise RetryableNodeError(f"{method} {url} timed out", kind="timeout") from exc
        except httpx.TransportError as exc:
            raise RetryableNodeError(f"{method} {url} failed: {exc}", kind="network") from exc
    return HttpReply(response.status_code, response.headers, body, str(response.url))
