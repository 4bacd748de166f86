"""Provider SDK clients whose HTTP goes through the egress policy.

The OpenAI and Anthropic SDKs speak through `httpx2` (a fork of httpx with the same
interface), so they get a guarded transport of that library.

A client is shared by every call with the same provider, endpoint, key and egress
settings (in one event loop): building one costs a TLS context (tens of milliseconds of
CPU and about a megabyte), and sharing it lets calls reuse pooled connections. Each call
gets a light copy carrying its own timeout and idempotency header. The transport still
checks and pins every request; a pooled connection serves only the host name it was
opened for (one pool per host name), at the address checked when it was opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anthropic
import httpcore2
import httpx2
import openai

from flowmaestro.executors.egress.http import MAX_REDIRECTS, pin, traced
from flowmaestro.executors.egress.policy import ALLOW_ENV, ALLOW_ENV_OLD, DENY_ENV

__all__ = [
    "MAX_SHARED_CLIENTS",
    "GuardedSdkTransport",
    "anthropic_client",
    "openai_client",
    "sdk_http_client",
]

MAX_SHARED_CLIENTS = 64
"""Shared SDK clients kept per event loop; the least recently used is closed once idle."""

_MAX_HOSTS = 16
_T = TypeVar("_T")


def _tls() -> ssl.SSLContext:
    """One TLS context per trust setting (the SDKs' default trust, which `SSL_CERT_FILE` and
    `SSL_CERT_DIR` change): building one costs tens of milliseconds of CPU."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    return httpcore2.default_ssl_context()


class GuardedSdkTransport(httpx2.AsyncBaseTransport):
    """The egress policy's check and pinning for every SDK request (and redirect hop)."""

    def __init__(self) -> None:
        self._pools: OrderedDict[str, httpx2.AsyncHTTPTransport] = OrderedDict()

    def _pool(self, host: str) -> httpx2.AsyncHTTPTransport:
        # Connections are pooled by the pinned address; one pool per host name keeps a
        # connection (its TLS session, its certificate) to the name it was opened for.
        pool = self._pools.pop(host, None) or httpx2.AsyncHTTPTransport(retries=0, verify=_tls())
        self._pools[host] = pool
        while len(self._pools) > _MAX_HOSTS:
            _, old = self._pools.popitem(last=False)
            task = asyncio.ensure_future(old.aclose())
            task.add_done_callback(lambda t: t.exception())
        return pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Check the target, pin its address, and send."""
        return await traced(request, lambda: self._send(request))

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.raw_host.decode("ascii")
        url = await pin(request)
        try:
            return await self._pool(host).handle_async_request(request)
        finally:
            request.url = url

    async def aclose(self) -> None:
        """Close pooled connections."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()


def sdk_http_client(timeout: float) -> httpx2.AsyncClient:
    """The HTTP client handed to an SDK: guarded, no environment proxies."""
    return httpx2.AsyncClient(
        transport=GuardedSdkTransport(),
        timeout=timeout,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
    )


@dataclass
class _Shared:
    sdk: Any
    users: int = 0
    evicted: bool = False


class _SharedClients:
    """The shared SDK clients of one event loop, least recently used first."""

    def __init__(self) -> None:
        self.clients: OrderedDict[tuple[Any, ...], _Shared] = OrderedDict()

    @contextlib.asynccontextmanager
    async def use(self, key: tuple[Any, ...], make: Callable[[], Any]) -> AsyncIterator[Any]:
        shared = self.clients.pop(key, None) or _Shared(make())
        self.clients[key] = shared
        while len(self.clients) > MAX_SHARED_CLIENTS:
            _, old = self.clients.popitem(last=False)
            old.evicted = True
            if old.users == 0:
                await old.sdk.close()
        shared.users += 1
        try:
            yield shared.sdk
        finally:
            shared.users -= 1
            if shared.evicted and shared.users == 0:
                await shared.sdk.close()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedClients] = (
    weakref.WeakKeyDictionary()
)


def _policy() -> tuple[str, ...]:
    """The egress settings a client was made under (each request is still checked)."""
    return tuple(os.environ.get(name, "") for name in (ALLOW_ENV, ALLOW_ENV_OLD, DENY_ENV))


@contextlib.asynccontextmanager
async def _shared(
    kind: str, api_key: str, base_url: str | None, make: Callable[[], _T]
) -> AsyncIterator[_T]:
    loop = asyncio.get_running_loop()
    clients = _by_loop.get(loop)
    if clients is None:
        clients = _by_loop[loop] = _SharedClients()
    async with clients.use((kind, api_key, base_url, _policy()), make) as sdk:
        yield sdk


@contextlib.asynccontextmanager
async def openai_client(
    api_key: str, base_url: str | None, timeout: float, headers: Mapping[str, str]
) -> AsyncIterator[openai.AsyncOpenAI]:
    """An OpenAI SDK client for one call (retries left to the engine's retry policy)."""

    def make() -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=sdk_http_client(timeout),
        )

    async with _shared("openai", api_key, base_url, make) as sdk:
        yield sdk.with_options(timeout=timeout, default_headers=dict(headers))


@contextlib.asynccontextmanager
async def anthropic_client(
    api_key: str, base_url: str | None, timeout: float, headers: Mapping[str, str]
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """An Anthropic SDK client for one call (retries left to the engine's retry policy)."""

    def make() -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=sdk_http_client(timeout),
        )

    async with _shared("anthropic", api_key, base_url, make) as sdk:
        yield sdk.with_options(timeout=timeout, default_headers=dict(headers))
