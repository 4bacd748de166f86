"""Bodies of the draft, publish, diff and compatibility routes (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events.changes import Compatibility, DefinitionDiff
from flowmaestro.gateway.models import Name, WorkflowOut

__all__ = [
    "CompatibilityOut",
    "CompatibilityRequest",
    "DiffOut",
    "DraftIn",
    "DraftOut",
    "ExecutionCompatibility",
    "ProblemOut",
    "PublishOut",
    "compatibility_out",
]


class ProblemOut(msgspec.Struct, kw_only=True):
    """One validation problem: the node and field at fault, a code and a message."""

    node_id: str | None
    field: str | None
    code: str
    message: str


class DraftIn(msgspec.Struct, kw_only=True):
    """The editor's draft: any definition document (it may be invalid), and the name."""

    definition: dict[str, Any]
    name: Name | None = None


class DraftOut(msgspec.Struct, kw_only=True):
    """What the editor edits: the draft if there is one (`has_draft`), else the
    published definition; `revision` goes in `If-Match` on the next write."""

    workflow_id: str
    revision: int
    name: str
    definition: dict[str, Any]
    has_draft: bool
    base_version: int
    """The published version the draft started from."""
    version: int
    """The current published version."""
    updated_at: datetime
    problems: list[ProblemOut]
    """What would stop it from being published (never stops it from being saved)."""


class PublishOut(msgspec.Struct, kw_only=True):
    """The workflow after publishing; `new_version` is false when only layout changed."""

    workflow: WorkflowOut
    revision: int
    new_version: bool


class DiffOut(msgspec.Struct, kw_only=True):
    """How version `version` differs from version `against`."""

    workflow_id: str
    version: int
    against: int
    diff: DefinitionDiff
    layout_only: bool


class CompatibilityRequest(msgspec.Struct, kw_only=True):
    """The candidate definition (the draft when absent)."""

    definition: dict[str, Any] | None = None


class ExecutionCompatibility(msgspec.Struct, kw_only=True):
    """One running or waiting execution and whether it could go on under the candidate."""

    execution_id: str
    status: str
    workflow_version: int | None
    test: bool
    started_at: datetime
    verdict: str
    nodes: list[str]
    reason: str


class CompatibilityOut(msgspec.Struct, kw_only=True):
    """Every unfinished execution of the workflow (at most `limit`, newest first), each
    with its verdict; executions always finish on the definition they started with."""

    workflow_id: str
    version: int
    executions: list[ExecutionCompatibility]
    counts: dict[str, int]
    truncated: bool
    diff: DefinitionDiff


def compatibility_out(row: Any, verdict: Compatibility) -> ExecutionCompatibility:
    """One execution row with its verdict."""
    return ExecutionCompatibility(
        execution_id=row["id"],
        status=row["status"],
        workflow_version=row["workflow_version"],
        test=row["test"],
        started_at=row["started_at"],
        verdict=verdict.verdict,
        nodes=verdict.nodes,
        reason=verdict.reason,
    )
