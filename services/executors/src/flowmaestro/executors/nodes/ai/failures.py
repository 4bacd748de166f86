"""Provider failures mapped to what retry does: 429, 5xx and timeouts are retryable
(honouring `retry-after`); authentication and bad requests are terminal."""

from __future__ import annotations

from collections.abc import Mapping

from flowmaestro.executors.errors import NodeError, RetryableNodeError, TerminalNodeError
from flowmaestro.executors.web import retry_after_seconds as retry_after_header

__all__ = ["http_failure", "node_error_in", "retry_after_seconds", "transport_failure"]

_RETRYABLE = {408, 409, 425, 429}


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    return retry_after_header(lowered.get("retry-after"))


def http_failure(provider: str, status: int, headers: Mapping[str, str], message: str) -> NodeError:
    """The node error for an HTTP error answer of `provider`."""
    text = f"{provider} answered {status}: {message[:500]}"
    if status in _RETRYABLE or status >= 500:
        kind = "rate_limited" if status == 429 else "provider_unavailable"
        return RetryableNodeError(text, kind=kind, retry_after=retry_after_seconds(headers))
    if status in (401, 403):
        return TerminalNodeError(text, kind="auth")
    return TerminalNodeError(text, kind="bad_request")


def transport_failure(provider: str, exc: BaseException) -> NodeError:
    """The node error for a timeout or a connection that failed: retryable."""
    kind = "timeout" if "timeout" in type(exc).__name__.lower() else "connection"
    return RetryableNodeError(f"{provider}: {type(exc).__name__}: {exc}", kind=kind)


def node_error_in(exc: BaseException) -> NodeError | None:
    """The node error `exc` was raised from (a library may wrap one), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, NodeError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
