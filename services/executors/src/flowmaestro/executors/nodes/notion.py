"""Executor of `notion`: create a page or query a database through the Notion API.

The integration holds `credentials.token` and may set `config.base_url` (default the
Notion API). Notion accepts no idempotency key; a retried `create_page` after a lost
answer can create a second page.
"""

from __future__ import annotations

import json
from typing import Any

from flowmaestro.events.catalogue import NotionConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.nodes.slack import bearer
from flowmaestro.executors.web import HttpReply, raise_for_status, send

__all__ = ["NOTION_API", "NOTION_VERSION", "run_notion"]

NOTION_API = "https://api.notion.com/v1"
NOTION_VERSION = "2022-06-28"


def _request(config: NotionConfig) -> tuple[str, dict[str, Any]]:
    if config.operation == "query_database":
        body: dict[str, Any] = {"page_size": config.page_size}
        if config.filter is not None:
            body["filter"] = config.filter
        if config.sorts is not None:
            body["sorts"] = config.sorts
        return f"/databases/{config.database_id}/query", body
    parent = (
        {"database_id": config.database_id}
        if config.database_id
        else {"page_id": config.parent_page_id}
    )
    body = {"parent": parent, "properties": config.properties}
    if config.children:
        body["children"] = config.children
    return "/pages", body


def _check(reply: HttpReply) -> Any:
    answer = reply.json_or_text()
    if reply.status == 409:
        raise RetryableNodeError("notion: conflict, try again", kind="notion")
    if 400 <= reply.status < 500 and reply.status != 429 and isinstance(answer, dict):
        raise TerminalNodeError(
            f"notion: {answer.get('code')}: {answer.get('message')}", kind="notion"
        )
    raise_for_status(reply, "notion")
    return answer


async def run_notion(ctx: NodeContext, config: NotionConfig) -> NodeResult:
    """Send the operation; output the created page, or the query's results page."""
    integration = await ctx.integration(config.integration_id)
    path, body = _request(config)
    base = str(integration.config.get("base_url") or NOTION_API).rstrip("/")
    reply = await send(
        "POST",
        f"{base}{path}",
        headers={
            "Authorization": f"Bearer {bearer(integration)}",
            "Notion-Version": NOTION_VERSION,
            "Content-Type": "application/json",
        },
        content=json.dumps(body).encode(),
    )
    answer = _check(reply)
    if config.operation == "query_database" and isinstance(answer, dict):
        answer = {
            "results": answer.get("results", []),
            "has_more": answer.get("has_more", False),
            "next_cursor": answer.get("next_cursor"),
        }
    return NodeResult(output=answer)
