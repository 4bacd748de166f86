"""The decisions `decide` returns: each an idempotent effect with a stable key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flowmaestro.events.commands import ExecuteNode
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.events import ChildFinished, ErrorInfo, Event, NodeFailed
from flowmaestro.events.names import result_key

__all__ = [
    "Append",
    "Decision",
    "Dispatch",
    "ReportChild",
    "StartTimer",
    "StopExecution",
    "unresolvable",
]


@dataclass(frozen=True, slots=True)
class Append:
    """Append `event` to the log of `execution_id` (default: the deciding execution).

    `record`: a record of a dispatch (`node.scheduled` beside its command), stored in the
    log but not delivered back to the scheduler, which needs no echo of what it sent.
    """

    key: str
    event: Event
    execution_id: str | None = None
    record: bool = False


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Publish `command` to its node type's work queue."""

    key: str
    command: ExecuteNode


@dataclass(frozen=True, slots=True)
class StartTimer:
    """At `at`, write `event` into the execution's log (a durable JetStream schedule)."""

    key: str
    timer_id: str
    at: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class StopExecution:
    """Tell executors to abandon the execution's running nodes and drop its timers."""

    key: str


@dataclass(frozen=True, slots=True)
class ReportChild:
    """Leave a tool-call child's end where the executor awaiting it reads it (executors
    may not read execution logs): the `child.finished` the parent's log gets, with every
    output of the child by output node."""

    key: str
    finished: ChildFinished


Decision = Append | Dispatch | ReportChild | StartTimer | StopExecution


def unresolvable(
    execution_id: str, node_id: str, attempt: int, now: datetime, exc: ReferenceResolutionError
) -> Append:
    """The terminal failure of a node attempt whose config cannot be resolved."""
    error = ErrorInfo(message=str(exc), kind="reference", terminal=True)
    return Append(
        result_key(execution_id, node_id, attempt),
        NodeFailed(node_id=node_id, attempt=attempt, failed_at=now, error=error),
    )
