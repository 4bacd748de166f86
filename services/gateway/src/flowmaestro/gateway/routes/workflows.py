"""`/api/workflows`: workflows, their versions, and starting runs of them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter

from flowmaestro.events import (
    DEFAULT_LIMITS,
    Actor,
    DefinitionError,
    Limits,
    Problem,
    WorkflowDefinition,
    parse_definition,
)
from flowmaestro.events.catalogue import workflow_key
from flowmaestro.events.composite import called_workflows
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import PageLimit, PageNumber, ok, pagination
from flowmaestro.gateway.errors import NotFoundError, ValidationFailedError
from flowmaestro.gateway.models import (
    Deleted,
    Envelope,
    ExecuteRequest,
    ExecutionStart,
    TestRequest,
    VersionOut,
    WorkflowCreate,
    WorkflowOut,
    WorkflowPage,
    WorkflowUpdate,
)
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.routes.drafts import IfMatch, expected_revision
from flowmaestro.gateway.runs import start_execution

__all__ = ["WorkflowController", "called_definitions", "checked_definition"]

Version = Annotated[int, Parameter(ge=1, le=2_147_483_647)]


def checked_definition(raw: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The definition validated by the engine (size and time settings against the
    operator's `limits`) and in canonical form; errors name the node."""
    try:
        definition = parse_definition(raw, limits)
    except DefinitionError as exc:
        raise ValidationFailedError.from_problems(
            "the workflow definition is invalid", exc.problems
        ) from exc
    return msgspec.to_builtins(definition)


class WorkflowController(Controller):
    """One user's workflows."""

    path = "/api/workflows"
    tags = ["workflows"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_workflows(
        self,
        user: CurrentUser,
        services: ServicesDep,
        page_number: PageNumber = 1,
        limit: PageLimit = 20,
        sort: Literal["name", "created_at", "updated_at"] = "created_at",
        order: Literal["asc", "desc"] = "desc",
    ) -> Envelope[WorkflowPage]:
        """A page of workflows, newest created first unless `sort`/`order` say otherwise."""
        items, total = await services.workflows.list(user.user_id, page_number, limit, sort, order)
        return ok(WorkflowPage(workflows=items, pagination=pagination(page_number, limit, total)))

    @post("/", status_code=201, responses=errors(400, 401, 413, 503))
    async def create_workflow(
        self,
        data: WorkflowCreate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[WorkflowOut]:
        """A new workflow at version 1."""
        definition = checked_definition(data.definition, services.settings.limits)
        actor = actor_of(request, user)
        return ok(
            await services.workflows.create(
                user.user_id, data.name, data.description, definition, actor
            )
        )

    @get("/{workflow_id:str}", responses=errors(400, 401, 404, 503))
    async def get_workflow(
        self, workflow_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[WorkflowOut]:
        """One workflow at its current version."""
        return ok(await services.workflows.get(user.user_id, workflow_id))

    @put("/{workflow_id:str}", responses=errors(400, 401, 404, 409, 413, 503))
    async def update_workflow(
        self,
        workflow_id: str,
        data: WorkflowUpdate,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        if_match: IfMatch = "*",
    ) -> Envelope[WorkflowOut]:
        """Change name, description or definition; a definition that changes more than
        node positions is a new version. With `If-Match`, 409 when written since."""
        definition = (
            checked_definition(data.definition, services.settings.limits)
            if data.definition is not None
            else None
        )
        return ok(
            await services.workflows.update(
                user.user_id,
                workflow_id,
                data.name,
                data.description,
                definition,
                actor=actor_of(request, user),
                expected_revision=expected_revision(if_match),
            )
        )

    @delete("/{workflow_id:str}", status_code=200, responses=errors(400, 401, 404, 503))
    async def delete_workflow(
        self,
        workflow_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[Deleted]:
        """Soft-delete the workflow."""
        await services.workflows.delete(user.user_id, workflow_id, actor_of(request, user))
        return ok(Deleted(id=workflow_id))

    @get("/{workflow_id:str}/versions", responses=errors(400, 401, 404, 503))
    async def list_versions(
        self, workflow_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[list[VersionOut]]:
        """Every version, newest first."""
        return ok(await services.workflows.versions(user.user_id, workflow_id))

    @get("/{workflow_id:str}/versions/{version:int}", responses=errors(400, 401, 404, 503))
    async def get_version(
        self, workflow_id: str, version: Version, user: CurrentUser, services: ServicesDep
    ) -> Envelope[VersionOut]:
        """One version."""
        return ok(await services.workflows.version(user.user_id, workflow_id, version))

    @post(
        "/{workflow_id:str}/versions/{version:int}/restore",
        status_code=201,
        responses=errors(400, 401, 404, 409, 413, 503),
    )
    async def restore_version(
        self,
        workflow_id: str,
        version: Version,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        if_match: IfMatch = "*",
    ) -> Envelope[WorkflowOut]:
        """Roll back: a new version equal to `version`; the draft, if any, is discarded
        (with `If-Match`, only if nobody wrote since that revision: else 409)."""
        actor = actor_of(request, user)
        expected = expected_revision(if_match)
        return ok(
            await services.workflows.restore(user.user_id, workflow_id, version, actor, expected)
        )

    @post("/execute", status_code=202, responses=errors(400, 401, 404, 413, 503))
    async def execute(
        self,
        data: ExecuteRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[ExecutionStart]:
        """Start a run; inputs are validated against the input nodes."""
        actor = actor_of(request, user)
        return ok(await self._start(services, actor, data.workflow_id, data.version, data.inputs))

    @post("/{workflow_id:str}/test", status_code=202, responses=errors(400, 401, 404, 413, 503))
    async def test_run(
        self,
        workflow_id: str,
        data: TestRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[ExecutionStart]:
        """Start a test run (listed apart from ordinary runs)."""
        actor = actor_of(request, user)
        if data.draft:
            draft = await services.drafts.get(actor.user_id, workflow_id)
            chosen = VersionOut(
                workflow_id=workflow_id,
                version=draft.base_version,
                definition=draft.definition,
                created_at=draft.updated_at,
            )
            return ok(await self._start_version(services, actor, chosen, data.inputs, test=True))
        return ok(
            await self._start(services, actor, workflow_id, data.version, data.inputs, test=True)
        )

    @staticmethod
    async def _start(
        services: ServicesDep,
        actor: Actor,
        workflow_id: str,
        version: int | None,
        inputs: dict[str, Any],
        test: bool = False,
    ) -> ExecutionStart:
        chosen = await services.workflows.to_run(actor.user_id, workflow_id, version or None)
        return await WorkflowController._start_version(services, actor, chosen, inputs, test)

    @staticmethod
    async def _start_version(
        services: ServicesDep,
        actor: Actor,
        chosen: VersionOut,
        inputs: dict[str, Any],
        test: bool = False,
    ) -> ExecutionStart:
        owner_id = actor.user_id
        called = await called_definitions(services, owner_id, chosen)
        return await start_execution(
            services.log,
            owner_id,
            chosen,
            inputs,
            test=test,
            workflows=called,
            limits=services.settings.limits,
            actor=actor,
        )


async def called_definitions(
    services: ServicesDep, owner_id: str, root: VersionOut
) -> dict[str, WorkflowDefinition]:
    """The definitions of every workflow the run may start (loops and sub-workflows by id),
    attached to `execution.started` so the run replays by itself."""
    found: dict[str, WorkflowDefinition] = {}
    pending = [root.definition]
    while pending:
        try:
            definition = parse_definition(pending.pop(), services.settings.limits)
        except DefinitionError:
            continue  # start_execution reports the root's problems; stored ones are valid
        for node_id, workflow_id, version in called_workflows(definition):
            key = workflow_key(workflow_id, version)
            if key in found:
                continue
            try:
                called = await services.workflows.to_run(owner_id, workflow_id, version or None)
            except NotFoundError as exc:
                raise ValidationFailedError.from_problems(
                    "a called workflow does not exist",
                    [Problem(f"no workflow {key!r}", node_id, "data.workflow_id", "not_found")],
                ) from exc
            try:
                found[key] = parse_definition(called.definition, services.settings.limits)
            except DefinitionError as exc:
                raise ValidationFailedError.from_problems(
                    f"the called workflow {key!r} is invalid", exc.problems
                ) from exc
            pending.append(called.definition)
    return found
