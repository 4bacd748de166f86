"""Request dependencies: the shared services and the authenticated principal."""

from __future__ import annotations

from typing import Any

from litestar import Request
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


def provide_principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    """The bearer token's user; `AuthenticationError` when missing or invalid."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("a bearer token is required", code="UNAUTHORIZED")
    return services.signer.verify(token.strip())


AUTHENTICATED = {"user": Provide(provide_principal, sync_to_thread=False)}
"""Dependencies of every route that needs a signed-in user."""


def actor_of(request: Request[Any, Any, Any], user: Principal) -> Actor:
    """Who acts (the signed-in user) and from where (the peer's address)."""
    return Actor(user_id=user.user_id, address=request.client.host if request.client else None)
