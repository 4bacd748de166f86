"""The replayer: fold a recorded log offline and check it reproduces the recorded outcome.

The terminal event is not taken on trust: the log before it is folded and `decide` is
asked what should end the execution; the replay is faithful when that decision matches
the recorded terminal event (same kind, same outputs or failing node).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flowmaestro.events.decide import Append, decide
from flowmaestro.events.events import (
    Event,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
)
from flowmaestro.events.state import ExecutionState, fold

__all__ = ["ReplayResult", "replay"]

_TERMINAL = (ExecutionCompleted, ExecutionFailed, ExecutionCancelled)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The folded state, and whether replaying reproduced the recorded outcome."""

    state: ExecutionState
    recorded: Event | None
    reproduced: bool
    message: str


def _same_outcome(decided: Event, recorded: Event) -> bool:
    match decided, recorded:
        case ExecutionCompleted(outputs=a), ExecutionCompleted(outputs=b):
            return a == b
        case ExecutionFailed(node_id=a), ExecutionFailed(node_id=b):
            return a == b
        case ExecutionCancelled(), ExecutionCancelled():
            return True
    return False


def replay(records: Sequence[tuple[int, Event]]) -> ReplayResult:
    """Fold `records` and compare the recomputed outcome with the recorded one."""
    state = fold(records)
    terminal_at = next((i for i, (_, e) in enumerate(records) if isinstance(e, _TERMINAL)), None)
    if terminal_at is None:
        return ReplayResult(
            state, None, True, f"no terminal event recorded; the execution is {state.status}"
        )
    recorded = records[terminal_at][1]
    before = fold(records[:terminal_at])
    assert isinstance(recorded, _TERMINAL)
    endings = [
        d.event
        for d in decide(before, recorded.ended_at)
        if isinstance(d, Append) and isinstance(d.event, _TERMINAL)
    ]
    if endings and _same_outcome(endings[0], recorded):
        return ReplayResult(
            state, recorded, True, f"replay reproduces the recorded outcome: {state.status}"
        )
    got = type(endings[0]).__name__ if endings else "no terminal decision"
    return ReplayResult(
        state,
        recorded,
        False,
        f"replay differs: recorded {type(recorded).__name__}, fold gives {got}",
    )
