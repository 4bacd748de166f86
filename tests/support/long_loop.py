"""A long execution's log without running it: a loop over many items, written by the
pure core (`decide`, the echo executor's answers, each child finishing at once).

Every append lands where the engine puts it: the scheduler's events on `.e` (the loop's
scheduling, each child's link and end), a plain node's dispatch record on `.r` and its
result on `.x`. The children's own logs are left out: only the parent is long.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import msgspec

from flowmaestro.events import (
    Append,
    ChildFinished,
    ChildStarted,
    Dispatch,
    Event,
    ExecutionStarted,
    WorkflowDefinition,
    decide,
    evolve,
)
from tests.unit.sim import T0, definition, echo_result

__all__ = ["BODY", "loop_definition", "loop_events", "loop_started"]

BODY = definition(
    {"e": ("echo", {"value": "${inputs.item}"}), "o": ("output", {"output": "${e.output}"})},
    [("e", "o")],
)


def loop_definition(items: int, concurrency: int = 64) -> WorkflowDefinition:
    """`first` (echo) → `loop` over `items` numbers (echo body) → `result` (output)."""
    return definition(
        {
            "first": ("echo", {"value": "go"}),
            "loop": (
                "loop",
                {
                    "items": list(range(items)),
                    "body": msgspec.to_builtins(BODY),
                    "concurrency": concurrency,
                    "on_error": "continue",
                },
            ),
            "result": ("output", {"output": "${loop.output}"}),
        },
        [("first", "loop"), ("loop", "result")],
    )


def loop_started(execution_id: str, items: int, concurrency: int = 64) -> ExecutionStarted:
    """The first event of such an execution."""
    return ExecutionStarted(
        execution_id=execution_id,
        definition=loop_definition(items, concurrency),
        inputs={},
        started_at=T0,
    )


def loop_events(first: ExecutionStarted, limit: int | None = None) -> Iterator[tuple[str, Event]]:
    """`(kind, event)` of the parent's log after `first` (kind `e`, `x` or `r`), to the
    end or until `limit` events (the execution then still running)."""
    state = evolve(None, first, 1)
    issued: set[str] = set()
    now = T0
    count = 1
    while not state.status.terminal:
        decisions = decide(state, now, issued)
        if not decisions:
            return
        for decision in decisions:
            issued.add(decision.key)
            now += timedelta(milliseconds=1)
            produced: list[tuple[str, Event]] = []
            match decision:
                case Append(event=event, execution_id=target, record=record):
                    if target not in (None, first.execution_id):
                        continue  # a child's start: its own log
                    produced.append(("r" if record else "e", event))
                    if isinstance(event, ChildStarted):
                        produced.append(("e", _finished(event)))
                case Dispatch(command=command):
                    produced.append(("x", echo_result(command)))
                case _:
                    continue
            for kind, event in produced:
                count += 1
                state = evolve(state, event, count)
                yield kind, event
                if limit is not None and count >= limit:
                    return


def _finished(link: ChildStarted) -> ChildFinished:
    output: Any = {"item": link.index, "echo": f"item {link.index}"}
    return ChildFinished(
        node_id=link.node_id,
        attempt=link.attempt,
        index=link.index,
        execution_id=link.execution_id,
        status="completed",
        output=output,
    )
