"""`/api/triggers`: cron schedules, webhooks and event triggers of the user's workflows."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter

from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.models import Deleted, Envelope
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.triggers import service
from flowmaestro.gateway.triggers.models import (
    TriggerCreate,
    TriggerList,
    TriggerOut,
    TriggerUpdate,
)

__all__ = ["TriggerController"]


class TriggerController(Controller):
    """One user's triggers; another user's answer 404."""

    path = "/api/triggers"
    tags = ["triggers"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_triggers(
        self,
        user: CurrentUser,
        services: ServicesDep,
        workflow_id: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> Envelope[TriggerList]:
        """Every trigger (of one workflow), oldest first, with next fire times and the
        latest fires."""
        rows = await services.triggers.list(user.user_id, workflow_id)
        return ok(TriggerList(triggers=await service.triggers_out(services, rows)))

    @post("/", status_code=201, responses=errors(400, 401, 404, 413, 503))
    async def create_trigger(
        self,
        data: TriggerCreate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[TriggerOut]:
        """A new trigger; a schedule is armed at once (unless created paused)."""
        return ok(await service.create(services, user.user_id, data, actor_of(request, user)))

    @get("/{trigger_id:str}", responses=errors(400, 401, 404, 503))
    async def get_trigger(
        self, trigger_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[TriggerOut]:
        """One trigger."""
        row = await services.triggers.get(user.user_id, trigger_id)
        return ok(await service.trigger_out_with_fires(services, row))

    @put("/{trigger_id:str}", responses=errors(400, 401, 404, 409, 413, 503))
    async def update_trigger(
        self,
        trigger_id: str,
        data: TriggerUpdate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[TriggerOut]:
        """Change a trigger (its kind stays)."""
        actor = actor_of(request, user)
        return ok(await service.update(services, user.user_id, trigger_id, data, actor))

    @post("/{trigger_id:str}/pause", status_code=200, responses=errors(400, 401, 404, 503))
    async def pause_trigger(
        self,
        trigger_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[TriggerOut]:
        """Stop firing (a schedule is stopped; webhooks answer 409 `TRIGGER_PAUSED`)."""
        actor = actor_of(request, user)
        return ok(await service.set_paused(services, user.user_id, trigger_id, True, actor))

    @post("/{trigger_id:str}/resume", status_code=200, responses=errors(400, 401, 404, 503))
    async def resume_trigger(
        self,
        trigger_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[TriggerOut]:
        """Fire again (a schedule is armed again from now on)."""
        actor = actor_of(request, user)
        return ok(await service.set_paused(services, user.user_id, trigger_id, False, actor))

    @delete("/{trigger_id:str}", status_code=200, responses=errors(400, 401, 404, 503))
    async def delete_trigger(
        self,
        trigger_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[Deleted]:
        """Remove a trigger (its schedule stops)."""
        await service.delete(services, user.user_id, trigger_id, actor_of(request, user))
        return ok(Deleted(id=trigger_id))
