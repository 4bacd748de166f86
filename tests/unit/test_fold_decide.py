"""`evolve`/`fold`/`decide` for every node type and every event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowmaestro.events import (
    Append,
    Dispatch,
    ErrorInfo,
    ExecuteNode,
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStatus,
    FoldError,
    NodeCompleted,
    NodeFailed,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeStatus,
    NodeWaiting,
    StartTimer,
    StopExecution,
    WorkflowDefinition,
    decide,
    evolve,
    fold,
)
from tests.unit.sim import T0, definition, echo_result, simulate, started


def chain() -> WorkflowDefinition:
    return definition(
        {
            "a": ("echo", {"value": 1}),
            "b": ("echo", {"value": "${a.output}"}),
            "out": ("output", {"output": "${b.output}"}),
        },
        [("a", "b"), ("b", "out")],
    )


def test_a_log_must_begin_with_execution_started() -> None:
    with pytest.raises(FoldError):
        evolve(None, NodeSkipped(node_id="a"))
    with pytest.raises(FoldError):
        fold([])


def test_chain_runs_in_order_and_resolves_references() -> None:
    state, log = simulate(started(chain()))
    assert state.status is ExecutionStatus.COMPLETED
    assert state.outputs == {"out": 1}
    scheduled = [e.node_id for e in log if isinstance(e, NodeScheduled)]
    assert scheduled == ["a", "b", "out"]


def test_independent_nodes_are_scheduled_together() -> None:
    defn = definition(
        {"a": ("echo", {}), "b": ("echo", {}), "c": ("echo", {})}, [("a", "c"), ("b", "c")]
    )
    decisions = decide(evolve(None, started(defn), 1), T0)
    dispatched = sorted(d.command.node_id for d in decisions if isinstance(d, Dispatch))
    assert dispatched == ["a", "b"]
    keys = [d.key for d in decisions]
    assert len(keys) == len(set(keys)) == 4


def test_dead_path_elimination_skips_the_untaken_branch_and_runs_the_join() -> None:
    defn = definition(
        {
            "c": ("conditional", {"expression": "x"}),
            "yes": ("echo", {"value": "y"}),
            "no": ("echo", {"value": "n"}),
            "after_no": ("echo", {}),
            "join": ("echo", {}),
            "out": ("output", {"output": "${join.output}"}),
        },
        [
            ("c", "yes", "true"),
            ("c", "no", "false"),
            ("no", "after_no"),
            ("yes", "join"),
            ("after_no", "join"),
            ("join", "out"),
        ],
    )
    state, _ = simulate(started(defn))
    assert state.status is ExecutionStatus.COMPLETED
    assert state.nodes["no"].status is NodeStatus.SKIPPED
    assert state.nodes["after_no"].status is NodeStatus.SKIPPED
    assert state.nodes["join"].status is NodeStatus.COMPLETED
    assert state.outputs == {"out": {"yes": "y"}}


def test_a_node_whose_inputs_are_all_untaken_is_skipped() -> None:
    defn = definition(
        {"c": ("conditional", {"expression": "x"}), "a": ("echo", {}), "b": ("echo", {})},
        [("c", "a", "false"), ("a", "b")],
    )
    state, _ = simulate(started(defn))
    assert [state.nodes[n].status for n in ("a", "b")] == [NodeStatus.SKIPPED] * 2
    assert state.status is ExecutionStatus.COMPLETED


def test_switch_handles_route() -> None:
    defn = definition(
        {
            "s": ("switch", {"expression": "x", "cases": [{"handle": "one", "value": 1}]}),
            "one": ("echo", {}),
            "other": ("echo", {}),
        },
        [("s", "one", "one"), ("s", "other", "default")],
    )

    def respond(command: ExecuteNode) -> NodeCompleted:
        handles = ["default"] if command.node_type == "switch" else None
        return NodeCompleted(
            node_id=command.node_id,
            attempt=command.attempt,
            completed_at=T0,
            output=None,
            handles=handles,
        )

    state, _ = simulate(started(defn), respond)
    assert state.nodes["one"].status is NodeStatus.SKIPPED
    assert state.nodes["other"].status is NodeStatus.COMPLETED


def test_input_and_variable_commands_carry_what_they_receive() -> None:
    defn = definition(
        {
            "in": ("input", {"schema": {"x": {"type": "number"}}}),
            "v": ("variable", {"operation": "get", "name": "t"}),
            "e": ("echo", {}),
        },
        [("in", "v"), ("in", "e")],
    )
    state = evolve(None, started(defn, {"x": 2}), 1)
    (command,) = [d.command for d in decide(state, T0) if isinstance(d, Dispatch)]
    assert command.inputs == {"x": 2} and command.vars is None
    state = evolve(
        state,
        NodeCompleted(node_id="in", attempt=1, completed_at=T0, output={"x": 2}, vars={"t": 5}),
    )
    commands = {d.command.node_id: d.command for d in decide(state, T0) if isinstance(d, Dispatch)}
    assert commands["v"].vars == {"t": 5} and commands["v"].inputs is None
    assert commands["e"].vars is None and commands["e"].upstream == {"in": {"x": 2}}
    assert state.vars == {"t": 5}


def test_unresolvable_reference_fails_the_node_terminally() -> None:
    defn = definition(
        {"a": ("echo", {}), "b": ("echo", {"value": "${a.output.missing}"})}, [("a", "b")]
    )
    state, log = simulate(started(defn))
    assert state.status is ExecutionStatus.FAILED
    assert state.failed_node == "b"
    failure = next(e for e in log if isinstance(e, NodeFailed))
    assert failure.error.kind == "reference" and failure.error.terminal


def flaky(attempts_to_fail: int, terminal: bool = False):
    def respond(command: ExecuteNode):
        if command.attempt <= attempts_to_fail:
            return NodeFailed(
                node_id=command.node_id,
                attempt=command.attempt,
                failed_at=T0,
                error=ErrorInfo(message="boom", terminal=terminal),
            )
        return echo_result(command)

    return respond


def test_retry_with_backoff_until_success() -> None:
    defn = definition(
        {
            "a": (
                "echo",
                {
                    "value": 1,
                    "retry": {"max_attempts": 3, "initial_interval_seconds": 2, "jitter": 0},
                },
            )
        },
        [],
    )
    state, log = simulate(started(defn), flaky(2))
    assert state.status is ExecutionStatus.COMPLETED
    retries = [e for e in log if isinstance(e, NodeRetrying)]
    assert [r.attempt for r in retries] == [2, 3]
    assert [(r.retry_at - T0).total_seconds() for r in retries] == [2.0, 4.0]
    assert [a.status for a in state.nodes["a"].attempts] == ["failed", "failed", "completed"]


def test_retries_exhausted_fail_the_execution() -> None:
    defn = definition({"a": ("echo", {"retry": {"max_attempts": 2}})}, [])
    state, _ = simulate(started(defn), flaky(5))
    assert state.status is ExecutionStatus.FAILED
    assert state.nodes["a"].attempt == 2
    assert state.error is not None and state.error.message == "boom"


def test_terminal_errors_and_non_retryable_kinds_are_not_retried() -> None:
    defn = definition({"a": ("echo", {})}, [])
    state, log = simulate(started(defn), flaky(1, terminal=True))
    assert state.status is ExecutionStatus.FAILED
    assert not any(isinstance(e, NodeRetrying) for e in log)
    defn = definition({"a": ("echo", {"retry": {"non_retryable": ["error"]}})}, [])
    state, _ = simulate(started(defn), flaky(1))
    assert state.status is ExecutionStatus.FAILED


def test_retry_after_from_the_error_stretches_the_backoff() -> None:
    defn = definition({"a": ("echo", {"retry": {"initial_interval_seconds": 1, "jitter": 0}})}, [])
    state = evolve(None, started(defn), 1)
    state = evolve(state, NodeScheduled(node_id="a", attempt=1, scheduled_at=T0, input_hash=""))
    state = evolve(
        state,
        NodeFailed(
            node_id="a",
            attempt=1,
            failed_at=T0,
            error=ErrorInfo(message="429", retry_after_seconds=30),
        ),
    )
    (retrying,) = [d.event for d in decide(state, T0) if isinstance(d, Append)]
    assert isinstance(retrying, NodeRetrying)
    assert retrying.retry_at == T0 + timedelta(seconds=30)
    state = evolve(state, retrying)
    (timer,) = decide(state, T0)
    assert isinstance(timer, StartTimer) and timer.event == NodeRetryDue(node_id="a", attempt=2)
    state = evolve(state, timer.event)
    assert state.nodes["a"].status is NodeStatus.RETRY_DUE
    assert {type(d) for d in decide(state, T0)} == {Append, Dispatch}


def test_waiting_nodes_complete_when_their_timer_event_lands() -> None:
    defn = definition(
        {"w": ("wait", {"seconds": 5}), "out": ("output", {"output": 1})}, [("w", "out")]
    )
    state = evolve(None, started(defn), 1)
    state = evolve(state, NodeScheduled(node_id="w", attempt=1, scheduled_at=T0, input_hash=""))
    state = evolve(
        state,
        NodeWaiting(node_id="w", attempt=1, waiting_since=T0, until=T0 + timedelta(seconds=5)),
    )
    assert state.nodes["w"].status is NodeStatus.WAITING
    assert decide(state, T0) == []
    state = evolve(state, NodeCompleted(node_id="w", attempt=1, completed_at=T0, output={}))
    assert [d.command.node_id for d in decide(state, T0) if isinstance(d, Dispatch)] == ["out"]


def test_cancel_request_ends_the_execution_and_stops_work() -> None:
    state = evolve(None, started(chain()), 1)
    state = evolve(state, ExecutionCancelRequested(requested_at=T0, reason="bye"))
    decisions = decide(state, T0)
    assert isinstance(decisions[0], Append) and isinstance(decisions[0].event, ExecutionCancelled)
    assert isinstance(decisions[1], StopExecution)
    state = evolve(state, decisions[0].event)
    assert state.status is ExecutionStatus.CANCELLED and state.cancel_reason == "bye"
    assert decide(state, T0) == []


def test_completion_landing_before_its_scheduling_is_accepted() -> None:
    state = evolve(None, started(chain()), 1)
    completed = NodeCompleted(node_id="a", attempt=1, completed_at=T0, output=1)
    state = evolve(state, completed)
    state = evolve(state, NodeScheduled(node_id="a", attempt=1, scheduled_at=T0, input_hash="h"))
    node = state.nodes["a"]
    assert node.status is NodeStatus.COMPLETED and node.scheduled_at == T0 and node.output == 1


def test_duplicates_and_stale_attempts_change_nothing() -> None:
    state = evolve(None, started(chain()), 1)
    state = evolve(state, NodeScheduled(node_id="a", attempt=2, scheduled_at=T0, input_hash=""))
    before = state.nodes["a"]
    for stale in (
        NodeCompleted(node_id="a", attempt=1, completed_at=T0, output="old"),
        NodeFailed(node_id="a", attempt=1, failed_at=T0, error=ErrorInfo(message="x")),
        NodeScheduled(node_id="a", attempt=2, scheduled_at=T0, input_hash=""),
        NodeRetryDue(node_id="a", attempt=2),
        NodeSkipped(node_id="a"),
    ):
        assert evolve(state, stale).nodes["a"] == before


def test_events_after_the_end_do_not_change_the_outcome() -> None:
    state, _ = simulate(started(chain()))
    later = evolve(
        state, NodeFailed(node_id="a", attempt=9, failed_at=T0, error=ErrorInfo(message="late")), 99
    )
    assert later.status is ExecutionStatus.COMPLETED and later.nodes == state.nodes
    assert later.last_seq == 99
    for end in (
        ExecutionFailed(failed_at=T0, error=ErrorInfo(message="x")),
        ExecutionCompleted(completed_at=T0),
    ):
        assert evolve(state, end).outputs == state.outputs


def test_unknown_node_in_an_event_is_a_fold_error() -> None:
    state = evolve(None, started(chain()), 1)
    with pytest.raises(FoldError):
        evolve(state, NodeSkipped(node_id="ghost"))


def test_decisions_skip_keys_already_issued() -> None:
    state = evolve(None, started(chain()), 1)
    first = decide(state, T0)
    assert decide(state, T0, issued={d.key for d in first}) == []


def test_node_scheduled_records_a_hash_of_what_feeds_the_node() -> None:
    def hash_for(value: int) -> str:
        defn = definition({"a": ("echo", {"value": value})}, [])
        (append, _dispatch) = decide(evolve(None, started(defn), 1), T0)
        assert isinstance(append, Append) and isinstance(append.event, NodeScheduled)
        return append.event.input_hash

    assert hash_for(1) == hash_for(1) != hash_for(2)


def test_no_node_is_reported_pending_or_under_way_once_the_execution_ended() -> None:
    from flowmaestro.events import reported_node_status

    running = fold(
        [
            started(chain()),
            NodeScheduled(node_id="a", attempt=1, scheduled_at=T0, input_hash="h"),
        ]
    )
    assert [reported_node_status(running, n) for n in running.nodes.values()] == [
        "scheduled",
        "pending",
        "pending",
    ]
    ended = evolve(running, ExecutionCancelled(cancelled_at=T0))
    assert ended.nodes["a"].status is NodeStatus.SCHEDULED  # the fold keeps what it saw
    assert [reported_node_status(ended, n) for n in ended.nodes.values()] == [
        "cancelled",
        "skipped",
        "skipped",
    ]
    failed = evolve(running, ExecutionFailed(failed_at=T0, error=ErrorInfo(message="x")))
    assert reported_node_status(failed, failed.nodes["a"]) == "cancelled"
