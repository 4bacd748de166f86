"""Pause and resume in the fold, `decide` and the replayer."""

from __future__ import annotations

from datetime import timedelta

from flowmaestro.events import (
    Actor,
    Append,
    Dispatch,
    ErrorInfo,
    Event,
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionPauseRequested,
    ExecutionResumed,
    ExecutionState,
    ExecutionStatus,
    NodeCompleted,
    NodeFailed,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    StartTimer,
    StopExecution,
    WorkflowDefinition,
    decide,
    evolve,
    reported_status,
)
from flowmaestro.events.replay import replay
from tests.unit.sim import T0, definition, started

ALICE = Actor(user_id="u1", address="203.0.113.7")
PAUSE = ExecutionPauseRequested(requested_at=T0, actor=ALICE)
RESUME = ExecutionResumed(resumed_at=T0, actor=ALICE)


def fan_out() -> WorkflowDefinition:
    """a → (b1, b2, b3) → join → out."""
    fan = {f"b{i}": ("echo", {"value": i}) for i in (1, 2, 3)}
    return definition(
        {"a": ("echo", {"value": 0}), **fan, "out": ("output", {"output": 1})},
        [("a", "b1"), ("a", "b2"), ("a", "b3"), ("b1", "out"), ("b2", "out"), ("b3", "out")],
    )


def done(node_id: str, attempt: int = 1) -> NodeCompleted:
    return NodeCompleted(node_id=node_id, attempt=attempt, completed_at=T0, output=node_id)


def scheduled(node_id: str, attempt: int = 1) -> NodeScheduled:
    return NodeScheduled(node_id=node_id, attempt=attempt, scheduled_at=T0, input_hash="")


def dispatched(decisions: list) -> list[str]:
    return sorted(d.command.node_id for d in decisions if isinstance(d, Dispatch))


def run(events: list[Event]) -> ExecutionState:
    state = evolve(None, events[0], 1)
    for seq, event in enumerate(events[1:], start=2):
        state = evolve(state, event, seq)
    return state


def test_pause_holds_new_nodes_and_resume_releases_them() -> None:
    state = run([started(fan_out()), scheduled("a"), PAUSE, done("a")])
    assert state.status is ExecutionStatus.PAUSED and reported_status(state) == "paused"
    assert state.nodes["a"].output == "a", "a result landing while paused is recorded"
    assert decide(state, T0) == []
    state = evolve(state, RESUME)
    assert state.status is ExecutionStatus.RUNNING
    assert dispatched(decide(state, T0)) == ["b1", "b2", "b3"]


def test_running_nodes_finish_while_paused_and_the_join_waits() -> None:
    events = [started(fan_out()), scheduled("a"), done("a")]
    events += [scheduled(b) for b in ("b1", "b2", "b3")]
    state = run([*events, PAUSE, done("b1"), done("b2"), done("b3")])
    assert all(state.nodes[b].output == b for b in ("b1", "b2", "b3"))
    assert decide(state, T0) == [], "the join does not start while paused"
    assert dispatched(decide(evolve(state, RESUME), T0)) == ["out"]


def test_paused_execution_resends_commands_of_nodes_already_running() -> None:
    state = run([started(fan_out()), scheduled("a"), PAUSE])
    decisions = decide(state, T0)
    assert dispatched(decisions) == ["a"] and not any(isinstance(d, Append) for d in decisions)
    assert decide(state, T0, {d.key for d in decisions}) == []


def test_a_retry_timer_due_while_paused_takes_effect_on_resume() -> None:
    failure = ErrorInfo(message="flaky")
    state = run(
        [
            started(fan_out()),
            scheduled("a"),
            NodeFailed(node_id="a", attempt=1, failed_at=T0, error=failure),
            NodeRetrying(node_id="a", attempt=2, retry_at=T0 + timedelta(seconds=1)),
            PAUSE,
            NodeRetryDue(node_id="a", attempt=2),
        ]
    )
    assert decide(state, T0) == []
    decisions = decide(evolve(state, RESUME), T0)
    assert dispatched(decisions) == ["a"]
    assert [d.command.attempt for d in decisions if isinstance(d, Dispatch)] == [2]


def test_a_failure_while_paused_is_judged_after_the_resume() -> None:
    failure = ErrorInfo(message="boom", terminal=True)
    state = run([started(fan_out()), scheduled("a"), PAUSE])
    state = evolve(state, NodeFailed(node_id="a", attempt=1, failed_at=T0, error=failure))
    assert decide(state, T0) == []
    (end, stop) = decide(evolve(state, RESUME), T0)
    assert isinstance(end, Append) and end.event.__struct_config__.tag == "execution.failed"
    assert isinstance(stop, StopExecution)


def test_cancel_works_while_paused() -> None:
    state = run([started(fan_out()), scheduled("a"), PAUSE])
    state = evolve(state, ExecutionCancelRequested(requested_at=T0, actor=ALICE))
    decisions = decide(state, T0)
    assert isinstance(decisions[0], Append) and isinstance(decisions[0].event, ExecutionCancelled)
    assert isinstance(decisions[1], StopExecution)
    assert evolve(state, decisions[0].event).status is ExecutionStatus.CANCELLED


def test_pause_and_resume_change_nothing_out_of_turn() -> None:
    state = run([started(fan_out()), RESUME])
    assert state.status is ExecutionStatus.RUNNING
    assert reported_status(evolve(state, PAUSE)) == "paused"
    assert evolve(evolve(state, PAUSE), PAUSE).status is ExecutionStatus.PAUSED
    ended = evolve(state, ExecutionCancelled(cancelled_at=T0))
    assert evolve(ended, PAUSE).status is ExecutionStatus.CANCELLED
    assert evolve(ended, RESUME).status is ExecutionStatus.CANCELLED


def drive(state: ExecutionState, log: list[Event], issued: set[str]) -> ExecutionState:
    """Carry out `decide` once the way the scheduler does, echoing every dispatch."""
    for decision in decide(state, T0, issued):
        issued.add(decision.key)
        match decision:
            case Append(event=event) | StartTimer(event=event):
                log.append(event)
                state = evolve(state, event, len(log))
            case Dispatch(command=command):
                log.append(done(command.node_id, command.attempt))
                state = evolve(state, log[-1], len(log))
            case _:
                pass
    return state


def test_replay_accepts_pause_and_resume_as_inputs() -> None:
    log: list[Event] = [started(fan_out())]
    state = evolve(None, log[0], 1)
    issued: set[str] = set()
    state = drive(state, log, issued)  # a
    log.append(PAUSE)
    state = evolve(state, PAUSE, len(log))
    for _ in range(3):
        state = drive(state, log, issued)
    assert state.nodes["b1"].attempt == 0, "nothing new ran while paused"
    log.append(RESUME)
    state = evolve(state, RESUME, len(log))
    for _ in range(5):
        state = drive(state, log, issued)
    assert state.status is ExecutionStatus.COMPLETED
    result = replay(list(enumerate(log, start=1)))
    assert result.reproduced, result.message


def test_replay_refuses_a_node_scheduled_while_paused() -> None:
    first = started(fan_out())
    (record,) = [d.event for d in decide(evolve(None, first, 1), T0) if isinstance(d, Append)]
    log: list[Event] = [first, record, PAUSE, done("a")]
    state = run(log)
    # What the run would write after a resume, written without one.
    early = [
        d.event
        for d in decide(evolve(state, RESUME), T0)
        if isinstance(d, Append) and isinstance(d.event, NodeScheduled)
    ]
    log.append(early[0])
    result = replay(list(enumerate(log, start=1)))
    assert not result.reproduced and result.diverged_at == len(log)
