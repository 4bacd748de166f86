"""Outgoing HTTP for executors: requests through the egress policy, and what an answer's
status means for retry."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from flowmaestro.executors.egress import HttpReply, send
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError

__all__ = ["HttpReply", "raise_for_status", "retry_after_seconds", "send"]


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
