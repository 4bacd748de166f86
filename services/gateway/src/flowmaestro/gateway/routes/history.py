"""`/api/executions/{id}/verify`, `/{a}/diff/{b}` and `/{id}/effects`: a run's hash chain
checked, two runs compared, and what a run from one node would do outside again.

Each reads the logs from NATS and calls the pure function the CLI calls too
(`events.chain`, `events.diff`, `events.effects`); each execution named must be the
caller's (404 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from flowmaestro.events import ExecutionState, fold
from flowmaestro.events.chain import ChainReport, verify_chain
from flowmaestro.events.diff import MAX_CHANGES, ExecutionDiff, diff_executions
from flowmaestro.events.effects import EffectsPreview, preview_effects
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import NotFoundError
from flowmaestro.gateway.models import Envelope
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.runs import owned_start

__all__ = ["HistoryController"]

_TERMINAL = ("completed", "failed", "cancelled")
_TOKEN = r"^[A-Za-z0-9_-]+$"
"""What an execution or node id looks like (`names.is_valid_token`)."""


async def _owned_state(services: ServicesDep, owner_id: str, execution_id: str) -> ExecutionState:
    await owned_start(services.log, owner_id, execution_id)
    return fold(await services.log.read(execution_id))


class HistoryController(Controller):
    """Checks and comparisons of one user's executions."""

    path = "/api/executions"
    tags = ["executions"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/{execution_id:str}/verify", responses=errors(400, 401, 404, 503))
    async def verify(
        self, execution_id: str, user: CurrentUser, services: ServicesDep
    ) -> Envelope[ChainReport]:
        """The log's hash chain checked: `ok`, the first bad sequence and why. A log that
        does not end while the read model says the run ended has lost its end."""
        await owned_start(services.log, user.user_id, execution_id)
        report = verify_chain(execution_id, await services.log.read_log(execution_id))
        if report.ok and not report.ended:
            projected = await services.executions.get(user.user_id, execution_id)
            if projected is not None and projected.status in _TERMINAL:
                report = ChainReport(
                    execution_id=report.execution_id,
                    ok=False,
                    messages=report.messages,
                    stamps=report.stamps,
                    ended=False,
                    verified_through=report.verified_through,
                    first_bad_seq=report.uncovered[0] if report.uncovered else None,
                    reason=f"the run ended ({projected.status}) but its log has no end",
                    uncovered=report.uncovered,
                    head=report.head,
                )
        return ok(report)

    @get("/{execution_id:str}/diff/{other_id:str}", responses=errors(400, 401, 404, 503))
    async def diff(
        self,
        execution_id: str,
        other_id: str,
        user: CurrentUser,
        services: ServicesDep,
        max_changes: Annotated[int, Parameter(ge=1, le=MAX_CHANGES)] = MAX_CHANGES,
    ) -> Envelope[ExecutionDiff]:
        """Two runs compared node by node: status, output changes (JSON Pointer paths),
        duration, tokens and cost; at most `max_changes` output changes per node."""
        a = await _owned_state(services, user.user_id, execution_id)
        b = await _owned_state(services, user.user_id, other_id)
        return ok(diff_executions(a, b, max_changes))

    @get("/{execution_id:str}/effects", responses=errors(400, 401, 404, 503))
    async def effects(
        self,
        execution_id: str,
        user: CurrentUser,
        services: ServicesDep,
        from_node: Annotated[
            str, Parameter(query="from", min_length=1, max_length=200, pattern=_TOKEN)
        ],
        into: Annotated[str | None, Parameter(max_length=100, pattern=_TOKEN)] = None,
    ) -> Envelope[EffectsPreview]:
        """The nodes with external effects that a run from node `from` (it and everything
        downstream) would run again, with the idempotency keys they would carry; `into`:
        the execution id such a run would have (default: this one, next attempts); 404
        for a node the run does not have."""
        state = await _owned_state(services, user.user_id, execution_id)
        try:
            return ok(preview_effects(state, from_node, into))
        except KeyError:
            raise NotFoundError(f"the execution has no node {from_node!r}") from None
