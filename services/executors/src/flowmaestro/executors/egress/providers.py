"""Provider SDK clients whose HTTP goes through the egress policy.

The OpenAI and Anthropic SDKs speak through `httpx2` (a fork of httpx with the same
interface), so they get a guarded transport of that library.
"""

from __future__ import annotations

from collections.abc import Mapping

import anthropic
import httpx2
import openai

from flowmaestro.executors.egress.http import MAX_REDIRECTS, pin

__all__ = ["GuardedSdkTransport", "anthropic_client", "openai_client", "sdk_http_client"]


class GuardedSdkTransport(httpx2.AsyncBaseTransport):
    """The egress policy's check and pinning for every SDK request (and redirect hop)."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Check the target, pin its address, and send."""
        url = await pin(request)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            request.url = url

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._inner.aclose()


def sdk_http_client(timeout: float) -> httpx2.AsyncClient:
    """The HTTP client handed to an SDK: guarded, no environment proxies."""
    return httpx2.AsyncClient(
        transport=GuardedSdkTransport(),
        timeout=timeout,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
    )


def openai_client(
    api_key: str, base_url: str | None, timeout: float, headers: Mapping[str, str]
) -> openai.AsyncOpenAI:
    """An OpenAI SDK client (retries left to the engine's retry policy)."""
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=timeout,
        default_headers=dict(headers),
        http_client=sdk_http_client(timeout),
    )


def anthropic_client(
    api_key: str, base_url: str | None, timeout: float, headers: Mapping[str, str]
) -> anthropic.AsyncAnthropic:
    """An Anthropic SDK client (retries left to the engine's retry policy)."""
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=timeout,
        default_headers=dict(headers),
        http_client=sdk_http_client(timeout),
    )
