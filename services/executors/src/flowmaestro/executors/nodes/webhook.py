"""Executor of `webhook`: a signed outgoing POST.

The receiver checks `X-FlowMaestro-Signature: v1=<hex>`, the HMAC-SHA256 with the shared
secret over `<X-FlowMaestro-Timestamp>.<raw body>`, and rejects old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import msgspec

from flowmaestro.events.catalogue import WebhookConfig
from flowmaestro.executors.context import NodeContext, NodeResult, upstream_document
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.web import raise_for_status, send

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "run_webhook", "sign"]

SIGNATURE_HEADER = "X-FlowMaestro-Signature"
TIMESTAMP_HEADER = "X-FlowMaestro-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


async def run_webhook(ctx: NodeContext, config: WebhookConfig) -> NodeResult:
    """POST the payload as JSON with timestamp, signature and idempotency key headers."""
    integration = await ctx.integration(config.integration_id)
    secret = integration.credentials.get("secret")
    if not isinstance(secret, str) or not secret:
        raise TerminalNodeError(
            f"integration {integration.name!r} has no 'secret'", kind="integration"
        )
    payload = upstream_document(ctx) if config.payload is msgspec.UNSET else config.payload
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        **config.headers,
        "Content-Type": "application/json",
        "Idempotency-Key": ctx.idempotency_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    reply = await send(
        "POST",
        config.url,
        headers=headers,
        content=body,
        timeout=config.request_timeout_seconds,
        max_bytes=1024 * 1024,
        follow_redirects=False,
    )
    raise_for_status(reply, f"webhook {config.url}")
    return NodeResult(output={"status": reply.status, "body": reply.json_or_text()})
