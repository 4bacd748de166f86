"""Outgoing HTTP for executors: server-side request forgery guard, size cap, error mapping.

Every request resolves its host, refuses it unless every resolved address is public (or
allowed by `FLOWMAESTRO_HTTP_ALLOW`, comma-separated addresses or networks), then connects
to the checked address itself (the host still names the site for `Host` and TLS), so a
second lookup cannot swap in a private address. Redirects are followed by hand, each hop
checked the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError

__all__ = [
    "ALLOW_ENV",
    "HttpReply",
    "allowed_networks",
    "check_host",
    "check_target",
    "raise_for_status",
    "retry_after_seconds",
    "send",
]

ALLOW_ENV = "FLOWMAESTRO_HTTP_ALLOW"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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


def allowed_networks() -> tuple[Network, ...]:
    """The operator's allow-list of otherwise refused networks, from `FLOWMAESTRO_HTTP_ALLOW`."""
    networks: list[Network] = []
    for part in os.environ.get(ALLOW_ENV, "").split(","):
        if part.strip():
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(networks)


def _permitted(address: IPAddress, allowed: tuple[Network, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return True
    return address.is_global and not address.is_multicast


async def check_host(host: str, port: int) -> str:
    """The address to connect to for `host`; refuses it when any address is not public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RetryableNodeError(f"cannot resolve {host}: {exc}", kind="network") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    allowed = allowed_networks()
    for address in addresses:
        if not _permitted(ipaddress.ip_address(address.split("%")[0]), allowed):
            raise TerminalNodeError(
                f"refusing {host}: it resolves to the non-public address {address}",
                kind="forbidden_target",
            )
    if not addresses:
        raise RetryableNodeError(f"{host} has no address", kind="network")
    return addresses[0]


async def check_target(url: httpx.URL) -> str:
    """The address to connect to for `url`; refuses non-HTTP schemes and private targets."""
    if url.scheme not in ("http", "https") or not url.host:
        raise TerminalNodeError(f"only http and https URLs are allowed: {url}", kind="url")
    return await check_host(url.host, url.port or (443 if url.scheme == "https" else 80))


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_status(reply: HttpReply, what: str, fail_on_4xx: bool = True) -> None:
    """429 and 5xx are retryable (honouring `Retry-After`); other 4xx are terminal."""
    if reply.status == 429 or reply.status >= 500:
        raise RetryableNodeError(
            f"{what} answered {reply.status}",
            kind=f"http_{reply.status}",
            retry_after=retry_after_seconds(reply.headers.get("retry-after")),
        )
    if fail_on_4xx and reply.status >= 400:
        detail = reply.body[:300].decode(errors="replace")
        raise TerminalNodeError(
            f"{what} answered {reply.status}: {detail}", kind=f"http_{reply.status}"
        )


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


async def _send_once(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    headers: Mapping[str, str],
    content: bytes | None,
    timeout: float,
    max_bytes: int,
) -> tuple[httpx.Response, bytes]:
    address = await check_target(url)
    pinned = url.copy_with(host=address)
    request_headers = {"Host": url.netloc.decode("ascii"), **headers}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    request = client.build_request(
        method,
        pinned,
        headers=request_headers,
        content=content,
        timeout=timeout,
        extensions=extensions,
    )
    try:
        response = await client.send(request, stream=True)
        try:
            body = await _read(response, max_bytes)
        finally:
            await response.aclose()
    except httpx.TimeoutException as exc:
        raise RetryableNodeError(f"{method} {url} timed out", kind="timeout") from exc
    except httpx.TransportError as exc:
        raise RetryableNodeError(f"{method} {url} failed: {exc}", kind="network") from exc
    return response, body


async def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    content: bytes | None = None,
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
    follow_redirects: bool = True,
) -> HttpReply:
    """Send one request through the guard and read the whole response (within `max_bytes`)."""
    target = httpx.URL(url, params=params or None)
    current_headers = dict(headers or {})
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
        for _hop in range(_MAX_REDIRECTS + 1):
            response, body = await _send_once(
                client, method, target, current_headers, content, timeout, max_bytes
            )
            location = response.headers.get("location")
            if not (follow_redirects and response.status_code in _REDIRECTS and location):
                return HttpReply(response.status_code, response.headers, body, str(target))
            following = target.join(location)
            if following.host != target.host:
                current_headers = {
                    k: v for k, v in current_headers.items() if k.lower() != "authorization"
                }
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method not in ("GET", "HEAD")
            ):
                method, content = "GET", None
            target = following
    raise TerminalNodeError(f"more than {_MAX_REDIRECTS} redirects", kind="redirects")
