"""Composite node types run by the engine as child executions: `loop` and `subworkflow`.

Each child is an execution with its own log; the parent's log records `child.started`
(linking to the child) and `child.finished`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec
from flowmaestro.events.definition import WorkflowDefinition

__all__ = ["SPECS", "LoopConfig", "SubworkflowConfig", "workflow_key"]


def workflow_key(workflow_id: str, version: int | None) -> str:
    """How a sub-workflow is named in `execution.started.workflows`."""
    return workflow_id if version is None else f"{workflow_id}@{version}"


class LoopConfig(NodeConfig, frozen=True, kw_only=True):
    """`loop`: runs a body for each item of `items`, at most `concurrency` at once.

    The body is an inline `body` definition (a group of nodes) or a stored workflow
    (`workflow_id`, optional `version`); each run receives inputs `{item, index}`. The
    output is `{results, errors}` in input order; `on_error` is `stop` (fail on the first
    failure, cancelling the rest) or `continue` (collect errors).
    """

    items: list[Any]
    body: WorkflowDefinition | None = None
    workflow_id: str | None = None
    version: int | None = None
    concurrency: int = 4
    on_error: Literal["stop", "continue"] = "stop"


class SubworkflowConfig(NodeConfig, frozen=True, kw_only=True):
    """`subworkflow`: runs another workflow (`workflow_id` and optional `version`, or an
    inline `definition`) as a child execution with `inputs`; outputs its outputs."""

    workflow_id: str | None = None
    version: int | None = None
    definition: WorkflowDefinition | None = None
    inputs: dict[str, Any] = {}


def _one_body(data: Mapping[str, Any], inline: str) -> list[tuple[str, str]]:
    given = [k for k in (inline, "workflow_id") if data.get(k) is not None]
    if len(given) != 1:
        return [(inline, f"set exactly one of '{inline}' and 'workflow_id'")]
    concurrency = data.get("concurrency")
    if isinstance(concurrency, int) and concurrency < 1:
        return [("concurrency", "must be at least 1")]
    return []


SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        "loop",
        "Loop",
        "logic",
        "Runs a group of nodes or a workflow for each item, with a concurrency cap.",
        LoopConfig,
        "{results: [...in input order], errors: [{index, execution_id, message}]}",
        composite=True,
        nested=("body",),
        checks=lambda data: _one_body(data, "body"),
    ),
    NodeSpec(
        "subworkflow",
        "Sub-workflow",
        "logic",
        "Runs another workflow as a child execution and returns its outputs.",
        SubworkflowConfig,
        "the child's outputs (the single output's value when it has one output node)",
        composite=True,
        nested=("definition",),
        checks=lambda data: _one_body(data, "definition"),
    ),
)
