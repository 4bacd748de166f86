"""`/api/workflows/{id}/draft`, `…/publish`, `…/compatibility` and version diffs: building
a workflow without losing work. A draft may be invalid; only publishing makes a version,
and only published versions run outside tests."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from flowmaestro.events import DefinitionError, Limits, Problem
from flowmaestro.events.changes import definition_diff
from flowmaestro.events.validate import parse_definition
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.draft_models import (
    CompatibilityOut,
    CompatibilityRequest,
    DiffOut,
    DraftIn,
    DraftOut,
    ProblemOut,
    PublishOut,
)
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import (
    RateLimitedError,
    TooLargeError,
    ValidationFailedError,
)
from flowmaestro.gateway.models import Envelope
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.services import Services
from flowmaestro.gateway.store.drafts import Draft
from flowmaestro.gateway.store.workflows import edit_conflict, workflow_out
from flowmaestro.runtime.ratelimit import RateLimit

__all__ = ["DraftController", "definition_problems", "expected_revision"]

IF_MATCH = "If-Match"
ETAG = "ETag"
Version = Annotated[int, Parameter(ge=1, le=2_147_483_647)]
IfMatch = Annotated[
    str,
    Parameter(
        header=IF_MATCH,
        max_length=40,
        pattern=r'^(\*|(W/)?"?[0-9]{1,18}"?)$',
        description='The revision you hold (`"12"`); a workflow written since answers 409 '
        "`EDIT_CONFLICT`. Absent or `*`: unconditional.",
    ),
]


def expected_revision(header: str | None) -> int | None:
    """The revision named by an `If-Match` header (`"12"`, `W/"12"`, `12`); None for `*`
    or no header."""
    if header is None or header.strip() == "*":
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 18:
        raise ValidationFailedError(
            "If-Match must be a revision number",
            [{"field": IF_MATCH, "code": "invalid", "message": 'expected a revision like "12"'}],
        )
    return int(text)


def _problems(raw: dict[str, Any], limits: Limits) -> list[Problem]:
    try:
        parse_definition(raw, limits)
    except DefinitionError as exc:
        return exc.problems
    except RecursionError:
        return [Problem("the definition is nested too deeply", code="too_deep")]
    return []


async def definition_problems(raw: dict[str, Any], limits: Limits) -> list[Problem]:
    """Every problem of `raw`, found off the event loop (expression parsing is bounded
    but not free)."""
    return await anyio.to_thread.run_sync(_problems, raw, limits)


def _draft_out(draft: Draft, problems: list[Problem]) -> DraftOut:
    return DraftOut(
        workflow_id=draft.workflow_id,
        revision=draft.revision,
        name=draft.name,
        definition=draft.definition,
        has_draft=draft.has_draft,
        base_version=draft.base_version,
        version=draft.version,
        updated_at=draft.updated_at,
        problems=[ProblemOut(**p.as_dict()) for p in problems],  # type: ignore[arg-type]
    )


async def _respond(draft: Draft, services: Services) -> Response[Envelope[DraftOut]]:
    problems = await definition_problems(draft.definition, services.settings.limits)
    return Response(ok(_draft_out(draft, problems)), headers={ETAG: f'"{draft.revision}"'})


def _bounded(definition: dict[str, Any], limit: int, what: str) -> None:
    size = len(msgspec.json.encode(definition))
    if size > limit:
        raise TooLargeError(f"the {what} is larger than the gateway keeps", size, limit)


class DraftController(Controller):
    """One user's drafts, publishing, diffs and compatibility checks."""

    path = "/api/workflows"
    tags = ["workflows"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/{workflow_id:str}/draft", responses=errors(400, 401, 404, 503))
    async def get_draft(
        self, workflow_id: str, user: CurrentUser, services: ServicesDep
    ) -> Response[Envelope[DraftOut]]:
        """The draft (or the published definition when there is none), its revision (also
        the `ETag`) and its problems."""
        return await _respond(await services.drafts.get(user.user_id, workflow_id), services)

    @put("/{workflow_id:str}/draft", responses=errors(400, 401, 404, 409, 413, 429, 503))
    async def save_draft(
        self,
        workflow_id: str,
        data: DraftIn,
        user: CurrentUser,
        services: ServicesDep,
        if_match: IfMatch = "*",
    ) -> Response[Envelope[DraftOut]]:
        """Save the draft as it is, valid or not (`problems` says what would stop a
        publish). Bounded in size (413) and in writes per minute per user (429)."""
        settings = services.settings
        expected = expected_revision(if_match)
        _bounded(data.definition, settings.draft_bytes, "draft")
        limit = RateLimit(requests=settings.draft_writes_per_minute, per_seconds=60.0)
        _, delay = await services.rate_limiter.admit(f"drafts.{user.user_id}", limit, 0)
        if delay > 0:
            raise RateLimitedError("too many draft saves; try again shortly", delay)
        draft = await services.drafts.save(
            user.user_id, workflow_id, data.name, data.definition, expected
        )
        return await _respond(draft, services)

    @delete("/{workflow_id:str}/draft", status_code=200, responses=errors(400, 401, 404, 409, 503))
    async def discard_draft(
        self,
        workflow_id: str,
        user: CurrentUser,
        services: ServicesDep,
        if_match: IfMatch = "*",
    ) -> Response[Envelope[DraftOut]]:
        """Discard the draft; the editor shows the published definition again."""
        draft = await services.drafts.discard(
            user.user_id, workflow_id, expected_revision(if_match)
        )
        return await _respond(draft, services)

    @post("/{workflow_id:str}/publish", status_code=200, responses=errors(400, 401, 404, 409, 503))
    async def publish(
        self,
        workflow_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        if_match: IfMatch = "*",
    ) -> Envelope[PublishOut]:
        """Publish the draft: validated in full (400 lists each problem), it becomes a new
        version unless only node positions changed (`new_version: false`)."""
        expected = expected_revision(if_match)
        draft = await services.drafts.get(user.user_id, workflow_id)
        if expected is not None and expected != draft.revision:
            raise edit_conflict(draft.revision, draft.updated_at)
        problems = await definition_problems(draft.definition, services.settings.limits)
        if problems:
            raise ValidationFailedError.from_problems("the draft cannot be published", problems)
        definition = msgspec.to_builtins(
            parse_definition(draft.definition, services.settings.limits)
        )
        record, made = await services.drafts.publish(
            user.user_id, workflow_id, draft, definition, actor_of(request, user)
        )
        return ok(
            PublishOut(workflow=workflow_out(record), revision=record["revision"], new_version=made)
        )

    @post(
        "/{workflow_id:str}/compatibility",
        status_code=200,
        responses=errors(400, 401, 404, 413, 503),
    )
    async def compatibility(
        self,
        workflow_id: str,
        data: CompatibilityRequest,
        user: CurrentUser,
        services: ServicesDep,
    ) -> Envelope[CompatibilityOut]:
        """For each running, paused or waiting execution of the workflow: `safe` to go on
        under the candidate, `pinned` to its version, or `incompatible` (a node it is on
        was removed or changed). The candidate is the draft unless `definition` is given."""
        candidate = data.definition
        if candidate is None:
            candidate = (await services.drafts.get(user.user_id, workflow_id)).definition
        _bounded(candidate, services.settings.draft_bytes, "definition")
        return ok(await services.drafts.compatibility(user.user_id, workflow_id, candidate))

    @get("/{workflow_id:str}/versions/{version:int}/diff", responses=errors(400, 401, 404, 503))
    async def diff(
        self,
        workflow_id: str,
        version: Version,
        user: CurrentUser,
        services: ServicesDep,
        against: Annotated[int | None, Parameter(ge=1, le=2_147_483_647)] = None,
    ) -> Envelope[DiffOut]:
        """How `version` differs from `against` (default: the version before it): nodes
        added, removed and changed (each changed config field, before and after), edges
        added and removed, nodes only moved."""
        base = against if against is not None else max(1, version - 1)
        new = await services.workflows.version(user.user_id, workflow_id, version)
        old = await services.workflows.version(user.user_id, workflow_id, base)
        diff = definition_diff(old.definition, new.definition)
        return ok(
            DiffOut(
                workflow_id=workflow_id,
                version=version,
                against=base,
                diff=diff,
                layout_only=diff.empty,
            )
        )
