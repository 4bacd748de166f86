"""`/api/integrations`: connections to outside services, credentials masked."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter

from flowmaestro.events.catalogue.ai import Provider
from flowmaestro.events.probes import ProbeRequest
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.models import (
    Deleted,
    Envelope,
    IntegrationCreate,
    IntegrationList,
    IntegrationOut,
    IntegrationUpdate,
    ModelList,
    ProbeResult,
)
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.probes import probe

__all__ = ["IntegrationController", "ModelController"]


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

    @post("/{integration_id:str}/test", status_code=200, responses=errors(400, 401, 404, 429, 503))
    async def test_integration(
        self, integration_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[ProbeResult]:
        """Connect and authenticate with the integration's stored settings, from an executor
        behind the nodes' egress policy (private and platform addresses are refused, kind
        `egress`), within `FLOWMAESTRO_PROBE_TIMEOUT_S`. A failed test is a 200 with
        `ok: false`; 503 when no executor answers."""
        await services.integrations.get(user.user_id, integration_id)
        reply = await probe(
            services,
            ProbeRequest(
                operation="test",
                owner_id=user.user_id,
                integration_id=integration_id,
                timeout_s=services.settings.probe_timeout_s,
            ),
        )
        return ok(msgspec.convert(msgspec.to_builtins(reply), ProbeResult, strict=False))


class ModelController(Controller):
    """The models a provider offers, for the LLM nodes' model picker."""

    path = "/api/models"
    tags = ["integrations"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 404, 429, 503))
    async def list_models(
        self,
        user: CurrentUser,
        services: ServicesDep,
        provider: Provider | None = None,
        integration_id: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> Envelope[ModelList]:
        """The models of `integration_id`'s provider (its type, or `provider`), asked of its
        endpoint with its credentials; without an integration, of `provider` with the
        operator's key (`provider` defaults to `openai`, like the AI nodes'). Asked from an
        executor, like a node's call."""
        asked: str = provider or "openai"
        if integration_id is not None:
            integration = await services.integrations.get(user.user_id, integration_id)
            asked = provider or integration.type
        reply = await probe(
            services,
            ProbeRequest(
                operation="models",
                owner_id=user.user_id,
                integration_id=integration_id,
                provider=asked,
                timeout_s=services.settings.probe_timeout_s,
            ),
        )
        return ok(msgspec.convert(msgspec.to_builtins(reply), ModelList, strict=False))
