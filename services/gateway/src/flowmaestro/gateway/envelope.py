"""The response envelope, and the exception handlers that turn every error into it.

This module is the only place that chooses HTTP statuses for errors.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar

import nats.errors
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import Parameter
from litestar.types import ExceptionHandlersMap

from flowmaestro.gateway.errors import GatewayError
from flowmaestro.gateway.models import Envelope, Pagination
from flowmaestro.runtime.errors import PayloadTooLargeError

__all__ = ["PageLimit", "PageNumber", "exception_handlers", "ok", "pagination"]

PageNumber = Annotated[int, Parameter(query="page", ge=1, le=1_000_000)]
"""A list route's `?page=` (1-based)."""
PageLimit = Annotated[int, Parameter(ge=1, le=100)]
"""A list route's `?limit=` (at most 100 a page)."""

T = TypeVar("T")

log = structlog.get_logger("flowmaestro.gateway")

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def ok(data: T) -> Envelope[T]:
    """`{"success": true, "data": data}`."""
    return Envelope(data=data)


def pagination(page_number: int, limit: int, total: int) -> Pagination:
    """Where page `page_number` of `limit` items sits among `total`."""
    pages = max(1, math.ceil(total / limit)) if limit else 1
    return Pagination(page=page_number, limit=limit, total=total, pages=pages)


def _error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        {"success": False, "error": {"message": message, "code": code, "details": details}},
        status_code=status,
        headers=headers,
    )


def _gateway_error(_request: Request[Any, Any, Any], exc: GatewayError) -> Response[Any]:
    headers = None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
    elif exc.status == 503:
        headers = {"Retry-After": "2"}
    return _error(exc.status, exc.code, exc.message, exc.details, headers)


def _validation_error(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    details = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            details.append(
                {
                    "field": item.get("key"),
                    "source": item.get("source"),
                    "code": "invalid",
                    "message": item.get("message"),
                }
            )
    return _error(400, "VALIDATION_ERROR", str(exc.detail), details or None)


_API_PREFIXES = ("/api/", "/ws", "/schema", "/health", "/ready")


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    index = request.app.state.get("ui_index")
    if (
        exc.status_code == 404
        and index is not None
        and request.method == "GET"
        and not request.url.path.startswith(_API_PREFIXES)
    ):
        # A deep link into the single-page UI: serve the app, which routes in the browser.
        return Response(content=index.read_bytes(), media_type="text/html")
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return _error(exc.status_code, code, str(exc.detail), None, exc.headers)


def _nats_error(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("gateway.nats_unavailable", error=repr(exc))
    return _error(
        503,
        "EVENT_LOG_UNAVAILABLE",
        "the event log is unavailable; try again shortly",
        None,
        {"Retry-After": "2"},
    )


def _too_deep(_request: Request[Any, Any, Any], _exc: RecursionError) -> Response[Any]:
    # msgspec gives up on a body nested past what it can decode (a 100k-deep array)
    return _error(400, "TOO_DEEPLY_NESTED", "the JSON body is nested too deeply", None)


def _too_large(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    details = None
    if isinstance(exc, PayloadTooLargeError):
        details = {"size_bytes": exc.size, "limit_bytes": exc.limit}
    return _error(
        413,
        "PAYLOAD_TOO_LARGE",
        "the request makes an event larger than the event log accepts",
        details,
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("gateway.internal_error", path=request.url.path, error=repr(exc))
    return _error(500, "INTERNAL_ERROR", "internal error")


exception_handlers: ExceptionHandlersMap = {
    GatewayError: _gateway_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    PayloadTooLargeError: _too_large,
    nats.errors.MaxPayloadError: _too_large,
    nats.errors.Error: _nats_error,
    TimeoutError: _nats_error,
    RecursionError: _too_deep,
    Exception: _internal_error,
}
"""Handlers for every error, so no response escapes the envelope."""
