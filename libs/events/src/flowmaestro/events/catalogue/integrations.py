"""Integration node types: `slack`, `notion`, `email` and `webhook`.

Each names an integration whose credentials the executor opens for the one command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec, always_effects

__all__ = ["SPECS", "EmailConfig", "NotionConfig", "SlackConfig", "WebhookConfig"]


class SlackConfig(NodeConfig, frozen=True, kw_only=True):
    """`slack`: posts `text` (and optional `blocks`) to `channel`, in a thread with `thread_ts`."""

    integration_id: str
    channel: str
    text: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None


class NotionConfig(NodeConfig, frozen=True, kw_only=True):
    """`notion`: creates a page in a database or under a page, or queries a database."""

    integration_id: str
    operation: Literal["create_page", "query_database"]
    database_id: str | None = None
    parent_page_id: str | None = None
    properties: dict[str, Any] = {}
    children: list[dict[str, Any]] = []
    filter: dict[str, Any] | None = None
    sorts: list[dict[str, Any]] | None = None
    page_size: int = 100


class EmailConfig(NodeConfig, frozen=True, kw_only=True):
    """`email`: sends a message over the SMTP server of `integration_id`.

    `text` and/or `html` parts; `attachments` are ids of uploaded files.
    """

    integration_id: str
    to: list[str]
    cc: list[str] = []
    bcc: list[str] = []
    subject: str
    text: str | None = None
    html: str | None = None
    attachments: list[str] = []
    from_address: str | None = None
    reply_to: str | None = None


class WebhookConfig(NodeConfig, frozen=True, kw_only=True):
    """`webhook`: POSTs `payload` (default: upstream) as JSON, signed with HMAC-SHA256.

    The signature covers `<timestamp>.<body>` with the integration's `secret`.
    """

    url: str
    integration_id: str
    payload: Any = msgspec.UNSET
    headers: dict[str, str] = {}
    request_timeout_seconds: float = 30.0


def _notion_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    operation = data.get("operation")
    if operation == "query_database" and not data.get("database_id"):
        return [("database_id", "query_database needs a database_id")]
    if operation == "create_page" and not (data.get("database_id") or data.get("parent_page_id")):
        return [("database_id", "create_page needs a database_id or a parent_page_id")]
    return []


def _email_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not data.get("to"):
        return [("to", "needs at least one recipient")]
    if data.get("text") is None and data.get("html") is None:
        return [("text", "set 'text', 'html' or both")]
    return []


SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        "slack",
        "Slack message",
        "integrations",
        "Posts a message to a Slack channel, or replies in a thread.",
        SlackConfig,
        "{channel, ts, thread_ts}",
        effects=always_effects,
    ),
    NodeSpec(
        "notion",
        "Notion",
        "integrations",
        "Creates a Notion page or queries a Notion database.",
        NotionConfig,
        "the created page, or {results, has_more, next_cursor}",
        checks=_notion_problems,
        effects=lambda data: data.get("operation") == "create_page",
    ),
    NodeSpec(
        "email",
        "Send email",
        "integrations",
        "Sends an email over SMTP (optionally TLS) with text, HTML and attachments.",
        EmailConfig,
        "{message_id, recipients}",
        checks=_email_problems,
        effects=always_effects,
    ),
    NodeSpec(
        "webhook",
        "Outgoing webhook",
        "integrations",
        "POSTs JSON to a URL, signed with HMAC-SHA256 over a timestamp and the body.",
        WebhookConfig,
        "{status, body}",
        effects=always_effects,
    ),
)
