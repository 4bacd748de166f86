"""Commands sent to executor pools: imperative, one tagged union."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events.definition import WorkflowDefinition

__all__ = ["Command", "ExecuteNode"]


class ExecuteNode(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="node.execute",
    omit_defaults=True,
):
    """Run one attempt of one node.

    `config` is the node's data with references resolved; `upstream` the outputs of the
    nodes feeding it, by id; `inputs`/`vars` are present only for node types that receive
    them. `idempotency_key` is stable across redeliveries of this attempt.
    """

    execution_id: str
    node_id: str
    node_type: str
    attempt: int
    config: dict[str, Any]
    upstream: dict[str, Any] = {}
    inputs: dict[str, Any] | None = None
    vars: dict[str, Any] | None = None
    timeout_seconds: float
    scheduled_at: datetime
    idempotency_key: str
    owner_id: str | None = None
    workflows: dict[str, WorkflowDefinition] | None = None
    """Workflows the node may start (agent tools), present only for types that receive them."""
    """The execution's owner: integrations are only opened for their owner."""
    reads: list[str] | None = None
    """Earlier executions of the same owner whose stored outputs the attempt may read as
    well as its own: those its run reuses results of (see `Origin.reuse`)."""


Command = ExecuteNode
