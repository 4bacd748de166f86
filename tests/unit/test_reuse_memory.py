"""Executions that reuse an earlier execution's results, on the real scheduler and the
in-memory log: which nodes are dispatched, which complete from the record, and that a
scheduler replaced half way decides the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecuteNode,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    Reusable,
    fold,
)
from flowmaestro.events.replay import replay
from flowmaestro.events.reuse import (
    OriginError,
    bounded,
    compare,
    fork_origin,
    json_diff,
    node_test_origin,
    recorded_results,
    replay_origin,
    replay_plan,
    retry_origin,
)
from flowmaestro.runtime import Settings
from flowmaestro.runtime.eventlog import MemoryEventLog
from flowmaestro.scheduler import Scheduler
from tests.unit.sim import T0, definition, echo_result, started
from tests.unit.test_scheduler_memory import answer, ended, until

pytestmark = pytest.mark.asyncio

TYPES = ("echo", "conditional", "output")

FLOW = definition(
    {
        "a": ("echo", {"value": 1}),
        "b": ("echo", {"value": "${a.output}"}),
        "check": ("conditional", {"expression": "true"}),
        "yes": ("echo", {"value": "taken"}),
        "result": ("output", {"output": "${yes.output}"}),
    },
    [("a", "b"), ("b", "check"), ("check", "yes", "true"), ("yes", "result")],
)


class Executors:
    """Played executors that count the commands they get and fail the nodes in `failing`."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: Counter[str] = Counter()
        self.failing = failing

    def respond(self, command: ExecuteNode) -> Event:
        self.calls[command.node_id] += 1
        if command.node_id in self.failing:
            return NodeFailed(
                node_id=command.node_id,
                attempt=command.attempt,
                failed_at=T0,
                error=ErrorInfo(message="boom", terminal=True),
            )
        return echo_result(command)


@contextlib.asynccontextmanager
async def engine(log: MemoryEventLog, executors: Executors) -> AsyncIterator[Scheduler]:
    """The production scheduler and the played executors, until the block ends."""
    stop = asyncio.Event()
    scheduler = Scheduler(log, settings=Settings(effect_attempts=3))
    tasks = [
        asyncio.ensure_future(scheduler.run(stop)),
        asyncio.ensure_future(answer(log, TYPES, executors.respond)),
    ]
    try:
        yield scheduler
    finally:
        stop.set()
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def derived(first: ExecutionStarted, execution_id: str, **changes: Any) -> ExecutionStarted:
    """A new start like `first`, under another id, with `changes` (an origin, a definition)."""
    return msgspec.structs.replace(first, execution_id=execution_id, **changes)


async def run(log: MemoryEventLog, executors: Executors, first: ExecutionStarted) -> Event:
    async with engine(log, executors):
        await log.start(first)
        return await ended(log, first.execution_id)


def reused_nodes(records: list[tuple[int, Event]]) -> set[str]:
    return {e.node_id for _, e in records if isinstance(e, NodeCompleted) and e.reused}


async def test_retry_from_a_failed_node_reuses_everything_upstream() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    assert isinstance(await run(log, Executors(frozenset({"yes"})), first), ExecutionFailed)
    origin = retry_origin("orig", await log.read("orig"), "yes")
    assert set(origin.reuse) == {"a", "b", "check"}
    again = Executors()
    end = await run(log, again, derived(first, "retry1", origin=origin))
    assert isinstance(end, ExecutionCompleted) and end.outputs == {"result": "taken"}
    assert again.calls == Counter({"yes": 1, "result": 1}), "reused nodes were dispatched"
    records = await log.read("retry1")
    assert reused_nodes(records) == {"a", "b", "check"}
    done = next(e for _, e in records if isinstance(e, NodeCompleted) and e.node_id == "b")
    assert done.reused is not None and done.reused.execution_id == "orig"
    assert replay(records).reproduced, "decide reproduces the reused completions"


async def test_a_changed_input_runs_the_node_for_real_despite_a_record() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    origin = retry_origin("orig", await log.read("orig"), "result")
    # the run's inputs differ: `a` is fed the same (it has none), but a hash that no
    # longer matches must send the node to its executor
    tampered = {
        n: msgspec.structs.replace(r, input_hash="0" * 64) if n == "b" else r
        for n, r in origin.reuse.items()
    }
    again = Executors()
    start = derived(first, "r2", origin=msgspec.structs.replace(origin, reuse=tampered))
    await run(log, again, start)
    assert again.calls == Counter({"b": 1, "result": 1})
    assert reused_nodes(await log.read("r2")) == {"a", "check", "yes"}


async def test_replay_against_a_changed_definition_runs_only_the_change_and_reports_it() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    changed = definition(
        {
            "a": ("echo", {"value": 1}),
            "b": ("echo", {"value": "${a.output}"}),
            "check": ("conditional", {"expression": "true"}),
            "yes": ("echo", {"value": "different"}),
            "result": ("output", {"output": "${yes.output}"}),
            "extra": ("echo", {"value": 5}),
        },
        [("a", "b"), ("b", "check"), ("check", "yes", "true"), ("yes", "result"), ("a", "extra")],
    )
    origin, plan = replay_origin("orig", await log.read("orig"), changed)
    assert plan.changed == ["yes"] and plan.added == ["extra"] and plan.removed == []
    assert set(plan.reuse) == {"a", "b", "check"}
    assert set(plan.run) == {"yes", "result", "extra"}
    again = Executors()
    end = await run(log, again, derived(first, "rp", origin=origin, definition=changed))
    assert isinstance(end, ExecutionCompleted) and end.outputs == {"result": "different"}
    assert again.calls == Counter({"yes": 1, "result": 1, "extra": 1})
    report = {
        r.node_id: r for r in compare(fold(await log.read("orig")), fold(await log.read("rp")))
    }
    assert report["a"].verdict == "same" and report["a"].reused
    assert report["yes"].verdict == "changed"
    assert report["yes"].diff == [
        {"op": "replace", "path": "", "old": "taken", "value": "different"}
    ]
    assert report["extra"].verdict == "added"


async def test_a_fork_with_a_replaced_output_runs_only_what_depends_on_it() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    records = await log.read("orig")
    origin = fork_origin("orig", records, len(records), {"yes": "forked"})
    again = Executors()
    end = await run(log, again, derived(first, "fk", origin=origin))
    assert isinstance(end, ExecutionCompleted) and end.outputs == {"result": "forked"}
    assert again.calls == Counter({"result": 1})
    with pytest.raises(OriginError):
        fork_origin("orig", records, len(records) + 1)


async def test_a_fork_early_in_the_log_runs_the_nodes_not_reached_yet() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    records = await log.read("orig")
    at = next(i for i, (_, e) in enumerate(records, 1) if isinstance(e, NodeCompleted))
    origin = fork_origin("orig", records, at)
    assert set(origin.reuse) == {"a"}
    again = Executors()
    await run(log, again, derived(first, "fk2", origin=origin))
    assert again.calls == Counter({"b": 1, "check": 1, "yes": 1, "result": 1})


async def test_a_node_test_runs_that_node_alone_on_recorded_inputs() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    origin = node_test_origin(FLOW, "b", "orig", await log.read("orig"))
    again = Executors()
    end = await run(log, again, derived(first, "t1", origin=origin, test=True))
    assert isinstance(end, ExecutionCompleted)
    assert again.calls == Counter({"b": 1})
    state = fold(await log.read("t1"))
    assert state.nodes["b"].output == 1 and state.nodes["b"].reused is None
    skipped = {e.node_id for _, e in await log.read("t1") if isinstance(e, NodeSkipped)}
    assert skipped == {"check", "yes", "result"}


async def test_a_node_test_on_inputs_edited_by_hand() -> None:
    log = MemoryEventLog()
    origin = node_test_origin(FLOW, "b", upstream={"a": 41})
    again = Executors()
    end = await run(log, again, derived(started(FLOW), "t2", origin=origin, test=True))
    assert isinstance(end, ExecutionCompleted)
    assert again.calls == Counter({"b": 1})
    assert fold(await log.read("t2")).nodes["b"].output == 41
    with pytest.raises(OriginError):
        node_test_origin(FLOW, "b", upstream={"yes": 1})


async def test_a_scheduler_replaced_mid_retry_decides_the_same() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(frozenset({"yes"})), first)
    origin = retry_origin("orig", await log.read("orig"), "yes")
    stuck = Executors()
    stop = asyncio.Event()
    scheduler = Scheduler(log, settings=Settings(effect_attempts=3))
    task = asyncio.ensure_future(scheduler.run(stop))  # no executors: stuck at `yes`
    await log.start(derived(first, "rr", origin=origin))
    await until(lambda: log.commands.get("echo", asyncio.Queue()).qsize() == 1)
    stop.set()
    await task
    async with engine(log, stuck):
        assert isinstance(await ended(log, "rr"), ExecutionCompleted)
    assert stuck.calls == Counter({"yes": 1, "result": 1})
    records = await log.read("rr")
    assert isinstance(records[-1][1], ExecutionCompleted)
    counts = Counter(e.node_id for _, e in records if isinstance(e, NodeCompleted))
    assert set(counts.values()) == {1}, "a replaced scheduler completed a node twice"
    assert reused_nodes(records) == {"a", "b", "check"}
    assert replay(records).reproduced


async def test_bounds_leave_out_results_over_the_budget_and_refuse_hand_set_ones() -> None:
    log_records = [(1, started(FLOW, execution_id="x"))]
    origin = fork_origin("x", log_records, 1, {"a": "v" * 100})
    with pytest.raises(OriginError) as caught:
        bounded(origin, 50)
    assert caught.value.code == "too_large"
    log = MemoryEventLog()
    await run(log, Executors(), started(FLOW, execution_id="orig"))
    full = retry_origin("orig", await log.read("orig"), "result")
    kept, dropped = bounded(full, 250)
    assert dropped and set(kept.reuse) | set(dropped) == set(full.reuse)
    assert bounded(full, 1_000_000) == (full, [])
    plan = replay_plan(FLOW, FLOW, ["a", "b"])
    assert plan.reuse == ["a", "b"] and plan.changed == []


async def test_json_diff_names_each_change_and_stops_at_its_bound() -> None:
    assert json_diff({"a": 1, "b": [1, 2]}, {"a": 2, "b": [1], "c": True}) == [
        {"op": "replace", "path": "/a", "old": 1, "value": 2},
        {"op": "remove", "path": "/b/1", "old": 2},
        {"op": "add", "path": "/c", "value": True},
    ]
    many = json_diff(list(range(500)), list(range(1, 501)))
    assert len(many) == 101 and many[-1]["op"] == "truncated"
    assert json_diff({"x": 1}, {"x": 1}) == []


async def test_large_outputs_are_reused_only_inside_their_owners_scope() -> None:
    from flowmaestro.runtime.outputs import _readable_by, _Reader  # the rule itself

    first = msgspec.structs.replace(started(FLOW, execution_id="orig"), owner_id="alice")
    log = MemoryEventLog()

    def by_reference(command: ExecuteNode) -> Event:
        done = echo_result(command)
        assert isinstance(done, NodeCompleted)
        scope = "alice" if command.node_id == "a" else "mallory"
        ref = f"{scope}/orig/{command.node_id}/1"
        return msgspec.structs.replace(done, output=None, output_ref=ref)

    executors = Executors()
    executors.respond = by_reference  # type: ignore[method-assign]
    await run(log, executors, first)
    results = recorded_results(await log.read("orig"))
    assert results["a"].output_ref == "alice/orig/a/1"
    assert "b" not in results, "a reference outside the owner's scope was kept"
    reader = _Reader("new", frozenset({"orig"}), "alice")
    assert _readable_by("alice/orig/a/1", reader)
    assert not _readable_by("mallory/orig/a/1", reader)
    assert not _readable_by("alice/other/a/1", reader)
    assert not _readable_by("alice/orig/a/1", _Reader("new"))


async def test_a_loop_upstream_of_a_retried_node_is_reused_without_children() -> None:
    from flowmaestro.events import ChildStarted

    body = {
        "nodes": {"twice": {"id": "twice", "type": "echo", "data": {"value": "${inputs.item}"}}},
        "edges": [],
    }
    flow = definition(
        {
            "each": ("loop", {"items": [1, 2, 3], "body": body}),
            "after": ("echo", {"value": "${each.output}"}),
        },
        [("each", "after")],
    )
    log = MemoryEventLog()
    first = started(flow, execution_id="orig")
    await run(log, Executors(frozenset({"after"})), first)
    loop_done = fold(await log.read("orig")).nodes["each"]
    assert loop_done.output is not None and len(loop_done.children) == 3
    origin = retry_origin("orig", await log.read("orig"), "after")
    again = Executors()
    end = await run(log, again, derived(first, "lr", origin=origin))
    assert isinstance(end, ExecutionCompleted)
    records = await log.read("lr")
    assert not [e for _, e in records if isinstance(e, ChildStarted)], "the loop ran again"
    assert again.calls == Counter({"after": 1})
    assert reused_nodes(records) == {"each"}
    assert replay(records).reproduced


async def test_an_executor_cannot_start_a_child_that_reuses_results() -> None:
    from flowmaestro.events import Origin, ParentRef
    from flowmaestro.events.events import admissible_outcome
    from flowmaestro.events.names import child_execution_id

    child = msgspec.structs.replace(
        started(FLOW, execution_id=child_execution_id("p", "a", 1, "t1")),
        parent=ParentRef(execution_id="p", node_id="a", attempt=1, tool=True),
    )
    assert admissible_outcome(child)
    forged = Origin(execution_id="other", kind="fork", reuse={"a": Reusable(attempt=1)})
    assert not admissible_outcome(msgspec.structs.replace(child, origin=forged))


async def test_a_report_diffs_what_changed_beside_an_equal_output() -> None:
    log = MemoryEventLog()
    first = started(FLOW, execution_id="orig")
    await run(log, Executors(), first)
    other = Executors()
    original_respond = other.respond

    def other_branch(command: ExecuteNode) -> Event:
        done = original_respond(command)
        if command.node_id == "check" and isinstance(done, NodeCompleted):
            return msgspec.structs.replace(done, handles=["false"])
        return done

    other.respond = other_branch  # type: ignore[method-assign]
    await run(log, other, derived(first, "again", origin=None))
    report = {
        r.node_id: r for r in compare(fold(await log.read("orig")), fold(await log.read("again")))
    }
    assert report["check"].verdict == "changed"
    assert report["check"].diff == [
        {"op": "replace", "path": "/handles/0", "old": "true", "value": "false"}
    ]
    assert report["yes"].verdict == "changed"  # skipped now, completed before
    assert report["a"].verdict == "same" and not report["a"].reused
