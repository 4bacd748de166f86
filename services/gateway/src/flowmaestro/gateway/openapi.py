"""What the OpenAPI document says beyond the handlers' own types: the error responses each
route really answers (always the error envelope) and which routes need a bearer token."""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

from flowmaestro.gateway.models import ErrorEnvelope

__all__ = ["BEARER", "ERROR_STATUSES", "errors", "openapi_config"]

_SCHEME = "BearerToken"

BEARER: list[SecurityRequirement] = [{_SCHEME: []}]
"""The security requirement of every route that needs a signed-in user."""

ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request: `details` names each field (and node) at fault",
    401: "Missing, invalid or expired bearer token, or wrong credentials",
    404: "No such resource for this user (another user's resources are not found either)",
    409: "The request clashes with the current state (taken email, run already ended, "
    "node not waiting)",
    413: "The request body, or the event it makes, is larger than the gateway or the event "
    "log accepts",
    429: "Too many attempts; retry after the `Retry-After` header's seconds",
    503: "PostgreSQL or the event log is unreachable; retry after `Retry-After`",
}
"""Every error status a route may answer, with what it means here."""


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses of a route, each documented as the error envelope."""
    return {
        status: ResponseSpec(
            data_container=ErrorEnvelope,
            description=ERROR_STATUSES[status],
            generate_examples=False,
        )
        for status in statuses
    }


def openapi_config() -> OpenAPIConfig:
    """The document at `/schema`; security is declared per protected controller."""
    return OpenAPIConfig(
        title="FlowMaestro",
        version="0.1.0",
        path="/schema",
        components=Components(
            security_schemes={
                _SCHEME: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )
