"""`/api/integrations`: connections to outside services, credentials masked."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put

from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.models import (
    Deleted,
    Envelope,
    IntegrationCreate,
    IntegrationList,
    IntegrationOut,
    IntegrationUpdate,
)
from flowmaestro.gateway.openapi import BEARER, errors

__all__ = ["IntegrationController"]


class IntegrationController(Controller):
    """One user's integrations."""

    path = "/api/integrations"
    tags = ["integrations"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_integrations(
        self, user: CurrentUser, services: ServicesDep
    ) -> Envelope[IntegrationList]:
        """Every integration, credentials masked."""
        return ok(IntegrationList(integrations=await services.integrations.list(user.user_id)))

    @post("/", status_code=201, responses=errors(400, 401, 413, 503))
    async def create_integration(
        self,
        data: IntegrationCreate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[IntegrationOut]:
        """A new integration; its credentials are encrypted at rest."""
        return ok(await services.integrations.create(user.user_id, data, actor_of(request, user)))

    @put("/{integration_id:str}", responses=errors(400, 401, 404, 413, 503))
    async def update_integration(
        self,
        integration_id: str,
        data: IntegrationUpdate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[IntegrationOut]:
        """Change an integration; omitted credentials are kept."""
        actor = actor_of(request, user)
        return ok(await services.integrations.update(user.user_id, integration_id, data, actor))

    @delete("/{integration_id:str}", status_code=200, responses=errors(400, 401, 404, 503))
    async def delete_integration(
        self,
        integration_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[Deleted]:
        """Remove an integration."""
        await services.integrations.delete(user.user_id, integration_id, actor_of(request, user))
        return ok(Deleted(id=integration_id))
