"""JSON and server-sent-event requests through the egress policy, with failures mapped to
node errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from flowmaestro.executors.egress import http_client
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.failures import http_failure, transport_failure

__all__ = ["post_json", "post_sse"]


async def post_json(
    provider: str, url: str, headers: dict[str, str], body: dict[str, Any], timeout: float
) -> Any:
    """POST `body` as JSON and return the decoded answer."""
    try:
        async with http_client(timeout) as client:
            response = await client.post(url, headers=headers, json=body)
    except httpx.TransportError as exc:
        raise transport_failure(provider, exc) from exc
    if response.status_code >= 400:
        raise http_failure(provider, response.status_code, dict(response.headers), response.text)
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise TerminalNodeError(f"{provider} answered no JSON", kind="bad_response") from exc


async def post_sse(
    provider: str, url: str, headers: dict[str, str], body: dict[str, Any], timeout: float
) -> AsyncIterator[tuple[str, Any]]:
    """POST `body` and yield `(event name, decoded data)` for each server-sent event."""
    try:
        async with (
            http_client(timeout) as client,
            client.stream("POST", url, headers=headers, json=body) as response,
        ):
            if response.status_code >= 400:
                text = (await response.aread()).decode(errors="replace")
                raise http_failure(provider, response.status_code, dict(response.headers), text)
            event, data = "message", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    payload = "\n".join(data)
                    if payload != "[DONE]":
                        yield event, json.loads(payload)
                    event, data = "message", []
            if data and data != ["[DONE]"]:
                yield event, json.loads("\n".join(data))
    except httpx.TransportError as exc:
        raise transport_failure(provider, exc) from exc
