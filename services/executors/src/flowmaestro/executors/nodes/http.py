"""Executor of `http`: one guarded HTTP request, with integration auth."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import msgspec

from flowmaestro.events.catalogue import HttpConfig
from flowmaestro.executors.context import Integration, NodeContext, NodeResult
from flowmaestro.executors.web import raise_for_status, send

__all__ = ["auth_headers", "run_http"]


def auth_headers(integration: Integration) -> dict[str, str]:
    """Headers authenticating as the integration: bearer `token`, basic, or given `headers`."""
    credentials = integration.credentials
    headers = {str(k): str(v) for k, v in (credentials.get("headers") or {}).items()}
    if credentials.get("token"):
        headers["Authorization"] = f"Bearer {credentials['token']}"
    elif credentials.get("username") is not None:
        pair = f"{credentials['username']}:{credentials.get('password', '')}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    return headers


def _body(config: HttpConfig) -> tuple[bytes | None, str | None]:
    if config.body is msgspec.UNSET or config.body is None:
        return None, None
    if config.body_type == "json":
        return json.dumps(config.body).encode(), "application/json"
    if config.body_type == "form":
        fields: Any = config.body
        return urlencode(fields, doseq=True).encode(), "application/x-www-form-urlencoded"
    raw = config.body if isinstance(config.body, str) else json.dumps(config.body)
    return raw.encode(), None


async def run_http(ctx: NodeContext, config: HttpConfig) -> NodeResult:
    """Send the request; output status, headers and the body (JSON when it is JSON)."""
    headers = {"Idempotency-Key": ctx.idempotency_key}
    if config.integration_id:
        headers.update(auth_headers(await ctx.integration(config.integration_id)))
    content, content_type = _body(config)
    if content_type:
        headers["Content-Type"] = content_type
    headers.update(config.headers)
    reply = await send(
        config.method,
        config.url,
        headers=headers,
        params=config.query,
        content=content,
        timeout=config.request_timeout_seconds,
        max_bytes=config.max_response_bytes,
        follow_redirects=config.follow_redirects,
    )
    raise_for_status(reply, f"{config.method} {config.url}", fail_on_4xx=config.fail_on_status)
    output = {
        "status": reply.status,
        "headers": dict(reply.headers.items()),
        "body": reply.json_or_text(),
        "url": reply.url,
    }
    return NodeResult(output=output)
