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
    fold,
    names,
)
from tests.unit.sim import T0, definition, echo_result

__all__ = ["BODY", "long_loop_events", "loop_definition", "loop_events", "loop_started"]

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
    end or until the log holds `limit` events (the execution then still running)."""
    state = evolve(None, first, 1)
    issued: set[str] = set()
    now = T0
    count = 1
    while not state.status.terminal:
        decisions = decide(state, now, issued)
        if not decisions:
            return
        produced: list[tuple[str, Event]] = []
        for decision in decisions:
            issued.add(decision.key)
            now += timedelta(milliseconds=1)
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
        if limit is not None:
            produced = produced[: limit - count]
        state = fold(((count + i, e) for i, (_, e) in enumerate(produced, 1)), state)
        count += len(produced)
        yield from produced
        if limit is not None and count >= limit:
            return


def long_loop_events(first: ExecutionStarted, limit: int) -> Iterator[tuple[str, Event]]:
    """`loop_events` to `limit` events, quicker: after the first rounds decided by the
    core, the children's links and ends go on in the same pattern (`decide` over 50,000
    items takes ~50 ms a call: deciding every round would take most of a minute)."""
    count = 1
    last: ChildStarted | None = None
    for kind, event in loop_events(first, min(limit, 300)):
        count += 1
        last = event if isinstance(event, ChildStarted) else last
        yield kind, event
    if last is None:
        return
    index = last.index + 1
    while count < limit:
        child = names.child_execution_id(first.execution_id, last.node_id, last.attempt, index)
        link = ChildStarted(
            node_id=last.node_id, attempt=last.attempt, index=index, execution_id=child
        )
        for event in (link, _finished(link))[: limit - count]:
            count += 1
            yield "e", event
        index += 1


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
