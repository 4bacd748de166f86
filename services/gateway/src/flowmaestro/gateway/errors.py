"""The gateway's error tree, and the one place that maps errors to HTTP statuses."""

from __future__ import annotations

from typing import Any

from flowmaestro.events import Problem

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "DatabaseUnavailableError",
    "GatewayError",
    "NotFoundError",
    "NotReadyError",
    "ProbeUnavailableError",
    "RateLimitedError",
    "TooLargeError",
    "ValidationFailedError",
    "problem_details",
]


def problem_details(problems: list[Problem]) -> list[dict[str, Any]]:
    """Error details naming the node and field of each problem."""
    return [p.as_dict() for p in problems]


class GatewayError(Exception):
    """Root of every error the gateway raises; carries its HTTP status and code."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class ConfigurationError(GatewayError):
    """The gateway cannot start with these settings."""


class NotFoundError(GatewayError):
    """No such resource for this user (also used for other users' resources)."""

    status = 404
    code = "NOT_FOUND"


class ConflictError(GatewayError):
    """The request clashes with the current state (duplicate email, execution ended)."""

    status = 409
    code = "CONFLICT"


class AuthenticationError(GatewayError):
    """Missing, invalid or expired credentials."""

    status = 401
    code = "UNAUTHORIZED"


class ValidationFailedError(GatewayError):
    """The request body or parameters are invalid; `details` names each field."""

    status = 400
    code = "VALIDATION_ERROR"

    @classmethod
    def from_problems(cls, message: str, problems: list[Problem]) -> ValidationFailedError:
        """An error listing engine validation problems (node, field, code, message)."""
        return cls(message, problem_details(problems))


class RateLimitedError(GatewayError):
    """Too many attempts; retry after `retry_after` seconds."""

    status = 429
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, {"retry_after_seconds": round(retry_after, 1)})
        self.retry_after = retry_after


class TooLargeError(GatewayError):
    """A request body over the operator's bound; `details` gives the size and the limit."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, message: str, size: int | None, limit: int) -> None:
        details = (
            {"limit_bytes": limit} if size is None else {"size_bytes": size, "limit_bytes": limit}
        )
        super().__init__(message, details)


class DatabaseUnavailableError(GatewayError):
    """PostgreSQL cannot be reached (or did not answer in time)."""

    status = 503
    code = "DATABASE_UNAVAILABLE"


class ProbeUnavailableError(GatewayError):
    """No executor answered a probe in time (none running, or all busy)."""

    status = 503
    code = "PROBE_UNAVAILABLE"


class NotReadyError(GatewayError):
    """A dependency (NATS, PostgreSQL) is unreachable; `details` says which."""

    status = 503
    code = "NOT_READY"
