"""The replayer: fold a recorded log offline and check every recorded decision.

Like a command-by-command workflow replayer, nothing the scheduler wrote is taken on
trust. The log is folded one event at a time and `decide` is asked, at every point, what
it would do there. Each recorded event of a kind only the scheduler writes (a node
scheduled, skipped or retried, a retry timer firing, a child started, the terminal event)
must be one of the decisions `decide` produced at or before its place in the log, and
each decision is used at most once. Events from outside the scheduler (the start, node
results, answers, cancel requests, a child's report) are inputs, folded as they come;
a result `decide` produced itself (a composite node's, an unresolvable reference) is
checked like any other decision. So is the scheduler's own verdict on an execution whose
effects the log kept refusing (an `execution.failed` of kind `poison`): it comes from the
log path, not from `decide`, and is folded as an input.

The scheduler decides on the prefix it has read and appends afterwards, so a decision may
land after later inputs; that is why a decision is matched against every prefix up to its
place, not only the one just before it. Times stamped from the scheduler's clock
(`scheduled_at`, `completed_at`, ...) are not compared; everything else is, including a
retry's due time, which `decide` derives from the failure's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from flowmaestro.events.decide import decide
from flowmaestro.events.decisions import Append, StartTimer
from flowmaestro.events.errors import FoldError
from flowmaestro.events.events import (
    ChildStarted,
    Event,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
)
from flowmaestro.events.state import ExecutionState, evolve

__all__ = ["ReplayResult", "replay"]

_TERMINAL = (ExecutionCompleted, ExecutionFailed, ExecutionCancelled)
# Kinds only the scheduler writes into an execution's own log: each must be decided.
_DECIDED_ONLY = (NodeScheduled, NodeSkipped, NodeRetrying, NodeRetryDue, ChildStarted, *_TERMINAL)
# Stamped from the deciding clock: they differ between the run and the replay.
_CLOCK_FIELDS = frozenset(
    {"scheduled_at", "completed_at", "failed_at", "cancelled_at", "requested_at", "started_at"}
)
# The scheduler's verdict on an execution it could not carry on: not `decide`'s.
_POISON_KIND = "poison"
# `decide` reads no clock except to stamp the fields above, so any instant will do.
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The folded state, whether replaying reproduced the log, and where it first differed."""

    state: ExecutionState
    recorded: Event | None
    reproduced: bool
    message: str
    diverged_at: int | None = None


def _comparable(event: Event) -> Event:
    """`event` with its clock stamps blanked, for comparing a decision with a record."""
    stamps = {f: _ANY_TIME for f in msgspec.structs.asdict(event) if f in _CLOCK_FIELDS}
    return msgspec.structs.replace(event, **stamps) if stamps else event


def _describe(event: Event) -> str:
    tag = msgspec.inspect.type_info(type(event))
    name = getattr(tag, "tag", None) or type(event).__name__
    node = getattr(event, "node_id", None)
    attempt = getattr(event, "attempt", None)
    parts = [str(name)]
    if node is not None:
        parts.append(f"of node {node!r}")
    if attempt is not None:
        parts.append(f"attempt {attempt}")
    if isinstance(event, ExecutionCompleted):
        outputs = msgspec.json.encode(event.outputs).decode()
        parts.append(f"with outputs {outputs[:200]}")
    return " ".join(parts)


class _Expectations:
    """Every decision `decide` made so far in the replay, each usable once, by key."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[Event]] = {}
        self._used: set[str] = set()

    def add(self, state: ExecutionState) -> None:
        """Record what `decide` would do on `state`."""
        for decision in decide(state, _ANY_TIME):
            match decision:
                case Append(key=key, event=event, execution_id=target):
                    if target not in (None, state.execution_id):
                        continue  # written into another execution's log
                case StartTimer(key=key, event=event):
                    pass
                case _:
                    continue
            candidates = self._by_key.setdefault(key, [])
            comparable = _comparable(event)
            if comparable not in candidates:
                candidates.append(comparable)

    def take(self, event: Event) -> bool:
        """Whether `event` is an unused decision; marks it used."""
        wanted = _comparable(event)
        for key, candidates in self._by_key.items():
            if key not in self._used and wanted in candidates:
                self._used.add(key)
                return True
        return False

    def pending_like(self, event: Event) -> list[Event]:
        """Unused decisions of the same kind, to say what was expected instead."""
        return [
            c
            for key, candidates in self._by_key.items()
            if key not in self._used
            for c in candidates
            if type(c) is type(event)
        ]


def _difference(seq: int, event: Event, expected: list[Event]) -> str:
    message = f"replay differs at seq {seq}: recorded {_describe(event)}, which decide does not"
    message += " produce at that point of the log"
    if expected:
        message += "; it would produce " + ", ".join(_describe(e) for e in expected[:3])
    return message


def replay(records: Sequence[tuple[int, Event]]) -> ReplayResult:
    """Fold `records`, checking each recorded decision against what `decide` produces."""
    state: ExecutionState | None = None
    expectations = _Expectations()
    recorded_end: Event | None = None
    for seq, event in records:
        if state is not None and not state.status.terminal:
            expectations.add(state)
            decided = expectations.take(event)
            verdict = isinstance(event, ExecutionFailed) and event.error.kind == _POISON_KIND
            if not decided and not verdict and isinstance(event, _DECIDED_ONLY):
                state = evolve(state, event, seq)
                message = _difference(seq, event, expectations.pending_like(event))
                return ReplayResult(state, event, False, message, diverged_at=seq)
        if isinstance(event, _TERMINAL) and recorded_end is None:
            recorded_end = event
        state = evolve(state, event, seq)
    if state is None:
        raise FoldError("an empty log has nothing to replay")
    if recorded_end is None:
        message = f"no terminal event recorded; the execution is {state.status}"
        return ReplayResult(state, None, True, message)
    message = f"replay reproduces every decision and the recorded outcome: {state.status}"
    return ReplayResult(state, recorded_end, True, message)
