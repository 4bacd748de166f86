"""Request dependencies: the shared services and the authenticated principal."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from flowmaestro.events import Actor
from flowmaestro.gateway.errors import AuthenticationError
from flowmaestro.gateway.security import TokenClaims
from flowmaestro.gateway.services import Services

__all__ = [
    "AUTHENTICATED",
    "CurrentUser",
    "Principal",
    "ServicesDep",
    "actor_at",
    "actor_of",
    "provide_principal",
    "provide_services",
]

Principal = TokenClaims
"""The user a request acts for."""

CurrentUser = NamedDependency[Principal]
"""A handler parameter `user: CurrentUser` receives the authenticated principal."""

ServicesDep = NamedDependency[Services]
"""A handler parameter `services: ServicesDep` receives the shared services."""


def provide_services(state: State) -> Services:
    """The services stored on the application at start."""
    return state.services


async def provide_principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    """The bearer token's user; `AuthenticationError` when missing or invalid, or when the
    user has since been deleted or disabled (checked on every request, not cached)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("a bearer token is required", code="UNAUTHORIZED")
    claims = services.signer.verify(token.strip())
    if not await services.users.is_active(claims.user_id):
        raise AuthenticationError(
            "the account no longer exists or is disabled", code="INVALID_TOKEN"
        )
    return claims


AUTHENTICATED = {"user": Provide(provide_principal)}
"""Dependencies of every route that needs a signed-in user."""


def actor_at(connection: ASGIConnection[Any, Any, Any, Any], user_id: str) -> Actor:
    """Who acts over `connection` (an HTTP request or a WebSocket) and from where: the
    peer's address, or the forwarded one when the peer is a trusted proxy
    (`FLOWMAESTRO_TRUSTED_PROXIES`)."""
    peer = connection.client.host if connection.client else "unknown"
    proxies = provide_services(connection.app.state).trusted_proxies
    return Actor(
        user_id=user_id, address=proxies.client(peer, connection.headers.get("x-forwarded-for"))
    )


def actor_of(request: Request[Any, Any, Any], user: Principal) -> Actor:
    """Who acts (the signed-in user) and from where (see `actor_at`)."""
    return actor_at(request, user.user_id)
