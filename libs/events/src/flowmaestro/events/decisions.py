"""The decisions `decide` returns: each an idempotent effect with a stable key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flowmaestro.events.commands import ExecuteNode
from flowmaestro.events.events import Event

__all__ = ["Append", "Decision", "Dispatch", "StartTimer", "StopExecution"]


@dataclass(frozen=True, slots=True)
class Append:
    """Append `event` to the log of `execution_id` (default: the deciding execution)."""

    key: str
    event: Event
    execution_id: str | None = None


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


Decision = Append | Dispatch | StartTimer | StopExecution
