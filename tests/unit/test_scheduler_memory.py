"""The real scheduler on the in-memory log: whole runs in milliseconds, no server.

The executors are played by `answer` (echo results appended to outcome subjects, as the
executors' identity appends them); everything else is the production `Scheduler`: batches,
the cumulative acknowledgement, effects in flight, redelivery after a crash, poison
isolation, commands too large for the log, forged outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from flowmaestro.events import (
    Event,
    ExecuteNode,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
)
from flowmaestro.events.names import result_key
from flowmaestro.runtime import Settings
from flowmaestro.runtime.eventlog import MemoryEventLog
from flowmaestro.scheduler import Scheduler
from tests.unit.sim import definition, echo_result, started

pytestmark = pytest.mark.asyncio

CHAIN = definition(
    {
        "a": ("echo", {"value": 1}),
        "check": ("conditional", {"expression": "true"}),
        "yes": ("echo", {"value": "taken"}),
        "no": ("echo", {"value": "skipped"}),
        "result": ("output", {"output": "${yes.output}"}),
    },
    [("a", "check"), ("check", "yes", "true"), ("check", "no", "false"), ("yes", "result")],
)


async def answer(
    log: MemoryEventLog,
    node_types: tuple[str, ...],
    respond: Callable[[ExecuteNode], Event] = echo_result,
) -> None:
    """Play the executors of `node_types`: answer each command once, on the outcome
    subject."""
    outcomes = log.outcomes()

    async def serve(node_type: str) -> None:
        queue = log.commands.setdefault(node_type, asyncio.Queue())
        while True:
            command = await queue.get()
            key = result_key(command.execution_id, command.node_id, command.attempt)
            await outcomes.append(command.execution_id, respond(command), key)

    async with asyncio.TaskGroup() as group:
        for node_type in node_types:
            group.create_task(serve(node_type))


@contextlib.asynccontextmanager
async def engine(
    log: MemoryEventLog,
    settings: Settings | None = None,
    node_types: tuple[str, ...] = ("echo", "conditional", "output"),
) -> AsyncIterator[Scheduler]:
    """The scheduler and the played executors, until the block ends."""
    stop = asyncio.Event()
    scheduler = Scheduler(log, settings=settings or Settings(effect_attempts=3))
    tasks = [
        asyncio.ensure_future(scheduler.run(stop)),
        asyncio.ensure_future(answer(log, node_types)),
    ]
    try:
        yield scheduler
    finally:
        stop.set()
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `condition()` holds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling a plain value, no event to await
            await asyncio.sleep(0.005)


async def ended(log: MemoryEventLog, execution_id: str, timeout: float = 5.0) -> Event:
    """The execution's terminal event, once it is in the log."""
    async with asyncio.timeout(timeout):
        while True:
            for _, event in await log.read(execution_id):
                if isinstance(event, ExecutionCompleted | ExecutionFailed):
                    return event
            await asyncio.sleep(0.005)


async def completions(log: MemoryEventLog, execution_id: str) -> Counter[tuple[str, int]]:
    return Counter(
        (e.node_id, e.attempt)
        for _, e in await log.read(execution_id)
        if isinstance(e, NodeCompleted)
    )


async def test_a_branching_run_completes_with_one_completion_per_node() -> None:
    log = MemoryEventLog()
    async with engine(log):
        ids = [f"run{i}" for i in range(20)]
        for execution_id in ids:
            await log.start(started(CHAIN, execution_id=execution_id))
        for execution_id in ids:
            end = await ended(log, execution_id)
            assert isinstance(end, ExecutionCompleted)
            assert end.outputs == {"result": "taken"}
            assert set((await completions(log, execution_id)).values()) == {1}


async def test_a_scheduler_stopped_mid_run_is_replaced_and_nothing_repeats() -> None:
    log = MemoryEventLog()
    async with engine(log, node_types=("echo",)):  # no conditional answers: stuck at check
        await log.start(started(CHAIN, execution_id="run"))
        await until(lambda: log.commands.get("conditional", asyncio.Queue()).qsize() == 1)
    assert log.commands["conditional"].qsize() == 1, "the run stopped half way"
    async with engine(log) as second:
        assert isinstance(await ended(log, "run"), ExecutionCompleted)
        assert "run" in second.finished, "the new scheduler rebuilt the run from the log"
    assert set((await completions(log, "run")).values()) == {1}


class RefusingLog(MemoryEventLog):
    """A log that refuses every command of one execution (a poison execution)."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison
        self.refused = 0

    async def dispatch(self, command: ExecuteNode, key: str, traceparent: str | None = None) -> Any:
        if command.execution_id == self.poison:
            self.refused += 1
            raise RuntimeError("the log refuses this command")
        return await super().dispatch(command, key, traceparent)


async def test_an_effect_that_keeps_failing_fails_only_its_execution() -> None:
    log = RefusingLog("poison")
    async with engine(log, Settings(effect_attempts=3)):
        await log.start(started(CHAIN, execution_id="poison"))
        await log.start(started(CHAIN, execution_id="healthy"))
        failure = await ended(log, "poison")
        assert isinstance(failure, ExecutionFailed) and failure.error is not None
        assert failure.error.kind == "poison" and "3 attempt" in failure.error.message
        assert isinstance(await ended(log, "healthy"), ExecutionCompleted)
    assert log.refused == 3, "bounded: no retry loop without end"
    assert "poison" in log.stopped


async def test_a_command_over_the_log_limit_fails_only_its_node() -> None:
    log = MemoryEventLog(max_payload=6_000)
    big = definition(
        {"a": ("echo", {"value": "x" * 4_000}), "b": ("echo", {"value": "${a.output}${a.output}"})},
        [("a", "b")],
    )
    async with engine(log):
        await log.start(started(big, execution_id="big"))
        await log.start(started(CHAIN, execution_id="small"))
        end = await ended(log, "big")
        assert isinstance(end, ExecutionFailed)
        failures = [e for _, e in await log.read("big") if isinstance(e, NodeFailed)]
        assert [(f.node_id, f.error.kind) for f in failures] == [("b", "too_large")]
        assert "6000" in failures[0].error.message
        assert isinstance(await ended(log, "small"), ExecutionCompleted)


async def test_a_forged_start_on_an_outcome_subject_is_never_run() -> None:
    log = MemoryEventLog()
    async with engine(log):
        forged = ExecutionStarted(
            execution_id="forged", definition=CHAIN, started_at=started(CHAIN).started_at
        )
        await log.outcomes().start(forged)
        await log.start(started(CHAIN, execution_id="real"))
        await ended(log, "real")
    assert await log.read("forged") == []
    assert log.commands["echo"].empty()


class _Redelivered:
    """A message handled before (redelivered, or read back in a take-over)."""

    deliveries = 2

    def __init__(self, log: MemoryEventLog, seq: int) -> None:
        self.seq = seq
        self.subject, self.data = log.record(seq)


async def test_a_wait_handled_again_after_its_timer_fired_is_not_armed_again() -> None:
    """A redelivered wait, handled on a state behind the log (its timer's completion is
    stored but not folded yet), must not arm the timer again: it would fire a second
    completion. One whose timer was never armed is armed."""
    from datetime import UTC, datetime

    from flowmaestro.events import NodeWaiting, fold
    from flowmaestro.events.names import node_timer_id

    log = MemoryEventLog()
    run = started(definition({"pause": ("wait", {"seconds": 1})}, []))
    execution_id = run.execution_id
    await log.start(run)
    now = datetime.now(UTC)
    fire = NodeCompleted(node_id="pause", attempt=1, completed_at=now)
    waiting = NodeWaiting(node_id="pause", attempt=1, waiting_since=now, until=now, fire=fire)
    waited = await log.outcomes().append(execution_id, waiting)
    scheduler = Scheduler(log)
    behind = fold(await log.read(execution_id))  # the wait folded, its completion not yet
    timer = (execution_id, node_timer_id("pause", 1))

    await log.append(execution_id, fire)  # the timer fired: its completion is stored
    scheduler.states[execution_id] = behind
    await scheduler._apply(execution_id, _Redelivered(log, waited))  # type: ignore[arg-type]
    assert timer not in log._timers

    never = MemoryEventLog()  # the scheduler stopped before it armed the timer
    await never.start(run)
    waited = await never.outcomes().append(execution_id, waiting)
    fresh = Scheduler(never)
    fresh.states[execution_id] = fold(await never.read(execution_id))
    await fresh._apply(execution_id, _Redelivered(never, waited))  # type: ignore[arg-type]
    assert timer in never._timers
    never.close()


async def test_a_wait_handed_twice_as_if_for_the_first_time_fires_once() -> None:
    """A consumer whose leader moved may hand a message again with a delivery count of 1:
    the timer is armed with a dedupe key, so the second arming after it fired is a no-op."""
    from datetime import UTC, datetime

    from flowmaestro.events import NodeWaiting, fold

    log = MemoryEventLog()
    run = started(definition({"pause": ("wait", {"seconds": 1})}, []))
    execution_id = run.execution_id
    await log.start(run)
    now = datetime.now(UTC)
    fire = NodeCompleted(node_id="pause", attempt=1, completed_at=now)
    waiting = NodeWaiting(node_id="pause", attempt=1, waiting_since=now, until=now, fire=fire)
    waited = await log.outcomes().append(execution_id, waiting)
    first = _Redelivered(log, waited)
    first.deliveries = 1
    for _ in range(2):
        scheduler = Scheduler(log)
        before = [record for record in await log.read(execution_id) if record[0] < waited]
        scheduler.states[execution_id] = fold(before)  # as a fresh holder would have it
        await scheduler._apply(execution_id, first)  # type: ignore[arg-type]
        async with asyncio.timeout(5):
            while fire not in [e for _, e in await log.read(execution_id)]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    await asyncio.sleep(1.2)  # a second fire would have come by now
    assert (await completions(log, execution_id))[("pause", 1)] == 1
    log.close()
