"""`/api/audit`: the trail of people's actions on the user's own resources."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep
from flowmaestro.gateway.envelope import PageLimit, PageNumber, ok, pagination
from flowmaestro.gateway.models import AuditPage, AuditResource, Envelope
from flowmaestro.gateway.openapi import BEARER, errors

__all__ = ["AuditController"]


class AuditController(Controller):
    """One user's audit trail."""

    path = "/api/audit"
    tags = ["audit"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_audit(
        self,
        user: CurrentUser,
        services: ServicesDep,
        resource_type: AuditResource | None = None,
        resource_id: Annotated[str | None, Parameter(max_length=100)] = None,
        actor: Annotated[str | None, Parameter(max_length=100)] = None,
        page_number: PageNumber = 1,
        limit: PageLimit = 20,
    ) -> Envelope[AuditPage]:
        """Who did what to which of the user's workflows, integrations and executions, from
        which address and when; newest first. Filter by resource and by actor (a user id)."""
        entries, total = await services.audit.list(
            user.user_id, page_number, limit, resource_type, resource_id, actor
        )
        return ok(AuditPage(entries=entries, pagination=pagination(page_number, limit, total)))
