"""Runs derived from an earlier one: `/api/executions/{id}/rerun|retry|replay|fork|report`
and `/api/workflows/{id}/nodes/{node_id}/test`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec

from flowmaestro.events import parse_definition
from flowmaestro.gateway import derived
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import ValidationFailedError
from flowmaestro.gateway.models import Envelope, VersionOut
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.routes.workflows import called_definitions, checked_definition
from flowmaestro.gateway.runs import owned_start

__all__ = ["DerivedRunController", "NodeTestController"]

NodeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MAX_GIVEN_NODES = 500
"""A node test's hand-edited upstream names at most this many nodes."""


class RetryRequest(msgspec.Struct, kw_only=True):
    """The node to run again (with what depends on it)."""

    node_id: NodeId


class ReplayRequest(msgspec.Struct, kw_only=True):
    """The definition to replay against: given whole, or a version of the same workflow."""

    definition: dict[str, Any] | None = None
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None
    dry: bool = False
    """Only say what would run; start nothing."""


class ForkRequest(msgspec.Struct, kw_only=True):
    """Where to fork, and optionally one node's output to replace."""

    at_seq: Annotated[int, msgspec.Meta(ge=1, le=derived.MAX_ORIGIN_EVENTS)]
    """How many events of the original log the fork starts from (1 = just the start)."""
    set: Annotated[dict[NodeId, Any], msgspec.Meta(max_length=1)] | None = None


class NodeTestRequest(msgspec.Struct, kw_only=True):
    """What the node runs on: what it received in an earlier execution, or outputs of
    the nodes it depends on given by hand."""

    execution_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    inputs: Annotated[dict[NodeId, Any], msgspec.Meta(max_length=MAX_GIVEN_NODES)] | None = None
    """The output of each node it depends on, by node id (missing ones: null)."""
    workflow_inputs: dict[str, Any] | None = None
    """The run's inputs (default: the earlier execution's, else none)."""
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None


def _one_of(message: str, field: str) -> ValidationFailedError:
    return ValidationFailedError(message, [{"field": field, "code": "invalid", "message": message}])


class DerivedRunController(Controller):
    """Re-run, retry, replay, fork one of the caller's executions; compare it after."""

    path = "/api/executions"
    tags = ["executions"]
    dependencies = AUTHENTICATED
    security = BEARER

    @post("/{execution_id:str}/rerun", status_code=202, responses=errors(400, 401, 404, 413, 503))
    async def rerun(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[derived.DerivedStart]:
        """The same workflow version and inputs again, as a new run linked to this one."""
        return ok(await derived.rerun(services, actor_of(request, user), execution_id))

    @post("/{execution_id:str}/retry", status_code=202, responses=errors(400, 401, 404, 413, 503))
    async def retry(
        self,
        execution_id: str,
        data: RetryRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[derived.DerivedStart]:
        """Run `node_id` and what depends on it again; every other recorded result is
        reused (nothing else runs)."""
        actor = actor_of(request, user)
        return ok(await derived.retry(services, actor, execution_id, data.node_id))

    @post(
        "/{execution_id:str}/replay",
        status_code=202,
        responses={
            200: ResponseSpec(
                data_container=Envelope[derived.ReplayOutcome],
                description="The plan of a dry replay (nothing started)",
                generate_examples=False,
            ),
            **errors(400, 401, 404, 413, 503),
        },
    )
    async def replay(
        self,
        execution_id: str,
        data: ReplayRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Response[Envelope[derived.ReplayOutcome]]:
        """Re-run against another definition (`definition`, or `version` of the same
        workflow): unchanged nodes reuse their recorded results, changed nodes and
        everything downstream run. `dry`: only the plan (200), nothing starts."""
        if (data.definition is None) == (data.version is None):
            raise _one_of("give exactly one of definition and version", "definition")
        actor = actor_of(request, user)
        limits = services.settings.limits
        version = None
        if data.version is not None:
            started = await owned_start(services.log, user.user_id, execution_id)
            if started.workflow_id is None:
                raise _one_of("this execution has no stored workflow: give a definition", "version")
            version = await services.workflows.version(
                user.user_id, started.workflow_id, data.version
            )
            raw = version.definition
        else:
            assert data.definition is not None
            raw = data.definition
        checked = checked_definition(raw, limits)
        definition = parse_definition(checked, limits)
        called = {}
        if not data.dry:
            root = version or VersionOut(
                workflow_id="", version=0, definition=checked, created_at=datetime.now(UTC)
            )
            called = await called_definitions(services, user.user_id, root)
        outcome = await derived.replay(
            services, actor, execution_id, definition, version, data.dry, called
        )
        return Response(ok(outcome), status_code=200 if data.dry else 202)

    @post("/{execution_id:str}/fork", status_code=202, responses=errors(400, 401, 404, 413, 503))
    async def fork(
        self,
        execution_id: str,
        data: ForkRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[derived.DerivedStart]:
        """A new run starting from the first `at_seq` events of this one: every result
        recorded by then is reused; `set` replaces one node's output, and only what
        depends on a change runs."""
        actor = actor_of(request, user)
        return ok(await derived.fork(services, actor, execution_id, data.at_seq, data.set))

    @get("/{execution_id:str}/report", responses=errors(400, 401, 404, 409, 413, 503))
    async def report(
        self, execution_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[derived.ExecutionReport]:
        """Node by node, how a derived run that has ended compares with its original:
        `same`, `changed` (with a JSON diff), `newly_run`, `removed`, `added`."""
        return ok(await derived.report(services, user.user_id, execution_id))


class NodeTestController(Controller):
    """Test one node of a workflow alone."""

    path = "/api/workflows"
    tags = ["workflows"]
    dependencies = AUTHENTICATED
    security = BEARER

    @post(
        "/{workflow_id:str}/nodes/{node_id:str}/test",
        status_code=202,
        responses=errors(400, 401, 404, 413, 503),
    )
    async def test_node(
        self,
        workflow_id: str,
        node_id: str,
        data: NodeTestRequest,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[derived.DerivedStart]:
        """Run the node alone (a test run) on the inputs it received in `execution_id`,
        or on `inputs` edited by hand; the answer names the new run, whose node shows
        the result."""
        if (data.execution_id is None) == (data.inputs is None):
            raise _one_of("give exactly one of execution_id and inputs", "execution_id")
        actor = actor_of(request, user)
        chosen = await services.workflows.to_run(user.user_id, workflow_id, data.version)
        limits = services.settings.limits
        definition = parse_definition(checked_definition(chosen.definition, limits), limits)
        called = await called_definitions(services, user.user_id, chosen)
        return ok(
            await derived.test_node(
                services,
                actor,
                chosen,
                definition,
                node_id,
                data.execution_id,
                data.inputs,
                data.workflow_inputs,
                called,
            )
        )
