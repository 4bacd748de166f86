"""Executor of `slack`: `chat.postMessage` with the integration's bot token.

The integration holds `credentials.token` and may set `config.base_url` (default the
Slack Web API). `client_msg_id` is a UUID derived from the idempotency key, so a retried
attempt is recognised as the same message.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flowmaestro.events.catalogue import SlackConfig
from flowmaestro.executors.context import Integration, NodeContext, NodeResult
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.web import raise_for_status, send

__all__ = ["SLACK_API", "client_msg_id", "run_slack"]

SLACK_API = "https://slack.com/api"
_RETRYABLE = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})


def client_msg_id(idempotency_key: str) -> str:
    """A stable UUID for one node attempt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowmaestro:{idempotency_key}"))


def bearer(integration: Integration) -> str:
    """The integration's `token`, or a terminal error naming what is missing."""
    token = integration.credentials.get("token")
    if not isinstance(token, str) or not token:
        raise TerminalNodeError(
            f"integration {integration.name!r} has no 'token'", kind="integration"
        )
    return token


async def run_slack(ctx: NodeContext, config: SlackConfig) -> NodeResult:
    """Post the message (in a thread when `thread_ts` is set)."""
    integration = await ctx.integration(config.integration_id)
    message: dict[str, Any] = {
        "channel": config.channel,
        "text": config.text,
        "client_msg_id": client_msg_id(ctx.idempotency_key),
    }
    if config.thread_ts:
        message["thread_ts"] = config.thread_ts
    if config.blocks is not None:
        message["blocks"] = config.blocks
    base = str(integration.config.get("base_url") or SLACK_API).rstrip("/")
    reply = await send(
        "POST",
        f"{base}/chat.postMessage",
        headers={
            "Authorization": f"Bearer {bearer(integration)}",
            "Content-Type": "application/json; charset=utf-8",
        },
        content=json.dumps(message).encode(),
        max_bytes=1024 * 1024,
    )
    raise_for_status(reply, "slack")
    answer = reply.json_or_text()
    if not isinstance(answer, dict):
        raise RetryableNodeError("slack answered with something other than JSON", kind="slack")
    if not answer.get("ok"):
        error = str(answer.get("error") or "unknown_error")
        if error in _RETRYABLE:
            raise RetryableNodeError(f"slack: {error}", kind="slack")
        raise TerminalNodeError(f"slack: {error}", kind="slack")
    posted = answer.get("message") or {}
    return NodeResult(
        output={
            "channel": answer.get("channel"),
            "ts": answer.get("ts"),
            "thread_ts": posted.get("thread_ts") or config.thread_ts,
            "client_msg_id": message["client_msg_id"],
        }
    )
