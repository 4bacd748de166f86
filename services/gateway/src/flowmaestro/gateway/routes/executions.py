"""`/api/executions`: history from the read model; cancel, answer and the SSE tail."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from flowmaestro.events import fold
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import PageLimit, PageNumber, ok, pagination
from flowmaestro.gateway.errors import NotFoundError, ValidationFailedError
from flowmaestro.gateway.live import live_tail
from flowmaestro.gateway.models import (
    CancelResult,
    Envelope,
    ExecutionDetail,
    ExecutionPage,
    ExecutionSource,
    ExecutionStatusName,
    InputAccepted,
    InputAnswer,
    LogList,
    PauseResult,
    ResumeResult,
    WaitingInputPage,
)
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.projection import current_state, execution_row
from flowmaestro.gateway.runs import answer, cancel, owned_start, pause, resume

__all__ = ["ExecutionController", "InboxController"]

LevelFilter = Literal["info", "warn", "error", "warning"]
"""Log levels to filter by; `warning` is an older spelling of `warn`."""


class CancelRequest(msgspec.Struct, kw_only=True):
    """Why the run is being cancelled (optional)."""

    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


async def _detail_from_log(
    services: ServicesDep, owner_id: str, execution_id: str
) -> ExecutionDetail:
    """The run folded straight from its log, for when the projector has not caught up."""
    await owned_start(services.log, owner_id, execution_id)
    row = execution_row(fold(await services.log.read(execution_id)))._asdict()
    row["current_state"] = current_state(row["nodes"], row.pop("variables"))
    for column in ("owner_id", "last_seq"):
        row.pop(column)
    return msgspec.convert(row, ExecutionDetail, from_attributes=False, strict=False)


def _after_seq(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None:
        return after or 0
    try:
        value = int(last_event_id)
    except ValueError:
        raise ValidationFailedError(
            "Last-Event-ID must be a stream sequence number",
            [{"field": "Last-Event-ID", "code": "invalid", "message": "not an integer"}],
        ) from None
    return max(0, value)


class ExecutionController(Controller):
    """One user's executions."""

    path = "/api/executions"
    tags = ["executions"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_executions(
        self,
        user: CurrentUser,
        services: ServicesDep,
        workflow_id: Annotated[str | None, Parameter(max_length=100)] = None,
        status: ExecutionStatusName | None = None,
        test: bool = False,
        batch_id: Annotated[str | None, Parameter(max_length=100)] = None,
        trigger_id: Annotated[str | None, Parameter(max_length=100)] = None,
        source: ExecutionSource | None = None,
        page_number: PageNumber = 1,
        limit: PageLimit = 20,
    ) -> Envelope[ExecutionPage]:
        """A page of runs, newest first; test runs only with `test=true`; the rows of one
        batch with `batch_id`; `trigger_id` keeps the runs one trigger started; `source`
        keeps the runs started one way (`manual`, `schedule`, `webhook`, `event`,
        `batch`)."""
        items, total = await services.executions.list(
            user.user_id,
            page_number,
            limit,
            workflow_id,
            status,
            test,
            batch_id=batch_id,
            trigger_id=trigger_id,
            source=source,
        )
        return ok(ExecutionPage(executions=items, pagination=pagination(page_number, limit, total)))

    @get("/{execution_id:str}", responses=errors(400, 401, 404, 503))
    async def get_execution(
        self, execution_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[ExecutionDetail]:
        """Status, inputs, outputs, each node's state with attempts and timings, and the
        definition recorded in the run's log."""
        started = await owned_start(services.log, user.user_id, execution_id)
        detail = await services.executions.get(user.user_id, execution_id)
        if detail is None:
            detail = await _detail_from_log(services, user.user_id, execution_id)
            if started.workflow_id is not None:
                with contextlib.suppress(NotFoundError):
                    workflow = await services.workflows.get(user.user_id, started.workflow_id)
                    detail.workflow_name = workflow.name
        detail.definition = msgspec.to_builtins(started.definition)
        if started.origin is not None:  # without what it reuses: that stays in the log
            detail.origin = msgspec.to_builtins(msgspec.structs.replace(started.origin, reuse={}))
        return ok(detail)

    @get("/{execution_id:str}/logs", responses=errors(400, 401, 404, 503))
    async def get_logs(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        level: LevelFilter | None = None,
        node_id: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Envelope[LogList]:
        """The run's log entries, optionally of one level or node."""
        if await services.executions.get(user.user_id, execution_id) is None:
            await owned_start(services.log, user.user_id, execution_id)
        wanted = "warn" if level == "warning" else level
        return ok(LogList(logs=await services.executions.logs(execution_id, wanted, node_id)))

    @post(
        "/{execution_id:str}/cancel",
        status_code=202,
        responses=errors(400, 401, 404, 409, 413, 503),
    )
    async def cancel_execution(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        data: CancelRequest | None = None,
    ) -> Envelope[CancelResult]:
        """Ask the run to stop (running or paused)."""
        reason = data.reason if data else None
        actor = actor_of(request, user)
        await cancel(services.log, user.user_id, execution_id, reason, actor)
        return ok(CancelResult(execution_id=execution_id))

    @post(
        "/{execution_id:str}/pause",
        status_code=202,
        responses=errors(400, 401, 404, 409, 503),
    )
    async def pause_execution(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[PauseResult]:
        """Hold a running execution: no new node starts, nodes already running finish, and
        timers that come due take effect on resume. 409 `NOT_RUNNING` otherwise."""
        await pause(services.log, user.user_id, execution_id, actor_of(request, user))
        return ok(PauseResult(execution_id=execution_id))

    @post(
        "/{execution_id:str}/resume",
        status_code=202,
        responses=errors(400, 401, 404, 409, 503),
    )
    async def resume_execution(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[ResumeResult]:
        """Let a paused execution carry on. 409 `NOT_PAUSED` otherwise."""
        await resume(services.log, user.user_id, execution_id, actor_of(request, user))
        return ok(ResumeResult(execution_id=execution_id))

    @post(
        "/{execution_id:str}/nodes/{node_id:str}/input",
        status_code=202,
        responses=errors(400, 401, 404, 409, 413, 503),
    )
    async def answer_input(
        self,
        execution_id: str,
        node_id: str,
        data: InputAnswer,
        user: CurrentUser,
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Envelope[InputAccepted]:
        """Answer a waiting human-input node (validated against its form)."""
        actor = actor_of(request, user)
        result = await answer(services.log, user.user_id, execution_id, node_id, data.input, actor)
        return ok(InputAccepted(execution_id=execution_id, **result))

    @get("/{execution_id:str}/events", responses=errors(400, 401, 404, 503))
    async def events(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        last_event_id: Annotated[
            str | None, Parameter(header="Last-Event-ID", max_length=20)
        ] = None,
        after: Annotated[int | None, Parameter(ge=0, le=2**62)] = None,
    ) -> ServerSentEvent:
        """Server-sent events: the whole log (or after `Last-Event-ID`), then live, then end."""
        await owned_start(services.log, user.user_id, execution_id)
        after_seq = _after_seq(last_event_id, after)
        heartbeat = services.settings.heartbeat_s

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            async for item in live_tail(services.nc, execution_id, after_seq, heartbeat):
                if item.message is None:
                    yield ServerSentEventMessage(data=None, comment="heartbeat")
                    continue
                yield ServerSentEventMessage(
                    data=msgspec.json.encode(item.message).decode(),
                    event=item.message["type"],
                    id=item.seq,
                )

        return ServerSentEvent(
            stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )


class InboxController(Controller):
    """What waits for the user: human-input nodes of their running executions."""

    path = "/api/inbox"
    tags = ["executions"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401, 503))
    async def list_waiting(
        self,
        user: CurrentUser,
        services: ServicesDep,
        workflow_id: Annotated[str | None, Parameter(max_length=100)] = None,
        page_number: PageNumber = 1,
        limit: PageLimit = 20,
    ) -> Envelope[WaitingInputPage]:
        """Human-input nodes waiting for an answer across the user's workflows (test runs
        included), oldest first, each with its request (prompt, mode, form schema). Answer
        one with `POST /api/executions/{id}/nodes/{node_id}/input`."""
        items, total = await services.executions.waiting(
            user.user_id, page_number, limit, workflow_id
        )
        return ok(WaitingInputPage(waiting=items, pagination=pagination(page_number, limit, total)))
