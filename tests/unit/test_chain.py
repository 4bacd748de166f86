"""The tamper-evident log: the real scheduler on the memory log stamps its appends with
the hash chain; `verify_chain` passes every untouched run (also one whose scheduler was
replaced mid-run and one recovered from snapshots) and names the first bad message of a
changed, removed or added one."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from flowmaestro.events import (
    ExecutionCancelRequested,
    ExecutionCompleted,
    NodeCompleted,
)
from flowmaestro.events.chain import (
    ChainReport,
    LogEntry,
    genesis,
    message_digest,
    parse_stamp,
    verify_chain,
)
from flowmaestro.events.names import SCHEDULER_CONSUMER, control_key, result_key
from flowmaestro.runtime import Settings
from flowmaestro.runtime.eventlog import MemoryEventLog
from flowmaestro.scheduler import Scheduler
from tests.support.long_loop import loop_started
from tests.unit.sim import T0, started
from tests.unit.test_scheduler_memory import CHAIN, ended, engine, until


async def verify(log: MemoryEventLog, execution_id: str) -> ChainReport:
    return verify_chain(execution_id, await log.read_log(execution_id))


async def finished_run(execution_id: str = "run") -> MemoryEventLog:
    log = MemoryEventLog()
    async with engine(log):
        await log.start(started(CHAIN, execution_id=execution_id))
        await ended(log, execution_id)
    return log


@pytest.mark.asyncio
async def test_an_untouched_run_verifies_and_every_scheduler_append_is_stamped() -> None:
    log = await finished_run()
    report = await verify(log, "run")
    assert report.ok, report
    assert report.ended and report.uncovered == []
    entries = await log.read_log("run")
    assert report.verified_through == entries[-1].seq
    assert all(e.stamp for e in entries if e.kind == "r"), "every dispatch record"
    assert report.stamps >= len([e for e in entries if e.kind == "r"]) + 1
    assert not entries[0].stamp, "the start is vouched for by the scheduler's next stamp"


@pytest.mark.asyncio
async def test_a_changed_outcome_is_named() -> None:
    log = await finished_run()
    entries = await log.read_log("run")
    outcome = next(e for e in entries if e.kind == "x")
    log.replace(outcome.seq, outcome.data.replace(b'"output":1', b'"output":2'))
    report = await verify(log, "run")
    assert not report.ok
    assert report.first_bad_seq == outcome.seq
    assert report.detected_at_seq is not None and report.detected_at_seq > outcome.seq


@pytest.mark.asyncio
async def test_a_changed_terminal_event_is_named() -> None:
    log = await finished_run()
    last = [e for e in await log.read_log("run") if e.kind == "e"][-1]
    log.replace(last.seq, last.data.replace(b"completed", b"Completed", 1))
    report = await verify(log, "run")
    assert not report.ok and report.first_bad_seq == report.detected_at_seq == last.seq


@pytest.mark.asyncio
async def test_a_removed_message_is_detected_where_the_log_diverges() -> None:
    log = await finished_run()
    entries = await log.read_log("run")
    removed = entries[3]
    log.replace(removed.seq, None)
    report = await verify(log, "run")
    assert not report.ok
    # the earliest message no good stamp vouches for any more, up to where it showed
    assert report.first_bad_seq is not None and report.detected_at_seq is not None
    assert report.first_bad_seq <= removed.seq < report.detected_at_seq


@pytest.mark.asyncio
async def test_a_message_added_after_the_end_fails() -> None:
    log = await finished_run()
    end = next(e for e in await log.read_log("run") if b"execution.completed" in e.data)
    copy = msgspec.json.decode(end.data)
    copy["outputs"] = {"result": "forged"}
    seq = await log.append("run", ExecutionCompleted(completed_at=_decode(end.data).completed_at))
    log.replace(seq, msgspec.json.encode(copy))
    report = await verify(log, "run")
    assert not report.ok and report.first_bad_seq == seq and report.reason


@pytest.mark.asyncio
async def test_a_record_with_a_wrong_stamp_fails() -> None:
    log = await finished_run()
    entries = await log.read_log("run")
    event = _decode(next(e.data for e in entries if b"execution.completed" in e.data))
    seq = await log.append("run", event, kind="r", stamp="3:" + "00" * 32)
    report = await verify(log, "run")
    assert not report.ok and report.detected_at_seq == seq


@pytest.mark.asyncio
async def test_a_log_whose_stamps_were_stripped_fails() -> None:
    log = await finished_run()
    log.stamps.clear()
    report = await verify(log, "run")
    assert not report.ok


@pytest.mark.asyncio
async def test_a_run_verifies_across_a_scheduler_replaced_mid_run_and_snapshots() -> None:
    log = MemoryEventLog()
    first = loop_started("swap", 60, concurrency=2)
    settings = Settings(effect_attempts=3, snapshot_every=7)
    async with engine(log, settings) as scheduler:
        await log.start(first)
        while log.snapshots.puts < 2:  # noqa: ASYNC110 - polling a plain value
            await asyncio.sleep(0.002)
        await scheduler.snapshots.close()
    async with engine(log, settings):  # a new scheduler: snapshot + tail, chain from it
        await ended(log, "swap")
    for execution_id in {e for e in log._by_execution}:
        report = await verify(log, execution_id)
        assert report.ok, report


@pytest.mark.asyncio
async def test_a_start_handed_again_after_its_records_were_stored_keeps_the_chain() -> None:
    """A scheduler handles a start and stores its dispatch records, then stops before it
    acknowledges: the next one is handed the start again and must chain those records."""
    log = MemoryEventLog()
    await log.start(started(CHAIN, execution_id="again"))
    first = Scheduler(log, settings=Settings(effect_attempts=3))
    pull = first.log.scheduler_consumer(10)
    await first.handle(await pull.next_batch())  # stored, never acknowledged
    assert any(e.kind == "r" for e in await log.read_log("again"))
    await pull.stop()
    async with engine(log):
        await ended(log, "again")
    report = await verify(log, "again")
    assert report.ok, report


@pytest.mark.asyncio
async def test_a_start_handed_again_as_if_for_the_first_time_keeps_the_chain() -> None:
    """As above, but the consumer lost its delivery counts (a server restarted): the
    next scheduler takes the start for a new one, and its first record, a duplicate of
    the stored one with another timestamp, tells it to read the chain from the log."""
    log = MemoryEventLog()
    await log.start(started(CHAIN, execution_id="replayed"))
    first = Scheduler(log, settings=Settings(effect_attempts=3))
    pull = first.log.scheduler_consumer(10)
    await first.handle(await pull.next_batch())
    await pull.stop()
    queue = log._consumers[SCHEDULER_CONSUMER].queue
    handed_again = [queue.get_nowait() for _ in range(queue.qsize())]
    for seq, _ in handed_again:
        queue.put_nowait((seq, 1))
    async with engine(log):
        await ended(log, "replayed")
    report = await verify(log, "replayed")
    assert report.ok, report


def test_stamps_and_heads() -> None:
    head = genesis("a").extend(1, message_digest("e", b"{}"))
    assert head.count == 1 and genesis("a") != genesis("b")
    assert parse_stamp(head.stamp(message_digest("e", b"{}"))) is not None
    assert parse_stamp("x:zz") is None and parse_stamp("-1:" + "00" * 32) is None
    running = [LogEntry(5, "e", b"{}")]
    assert verify_chain("a", running).ok and verify_chain("a", running).uncovered == [5]
    good = [
        LogEntry(5, "e", b"{}"),
        LogEntry(9, "r", b"{}", head.stamp(message_digest("r", b"{}"))),
    ]
    assert verify_chain("a", good).ok


def _decode(data: bytes) -> ExecutionCompleted:
    from flowmaestro.events import decode_event

    event = decode_event(data)
    assert isinstance(event, ExecutionCompleted)
    return event


@pytest.mark.asyncio
async def test_a_late_outcome_after_a_cancel_is_listed_not_failed() -> None:
    log = MemoryEventLog()
    async with engine(log, node_types=()):  # nobody answers: the first node stays running
        await log.start(started(CHAIN, execution_id="slow"))
        await until(lambda: any(r[1].endswith(".r") for r in log._records))
        cancel = ExecutionCancelRequested(requested_at=T0)
        await log.append("slow", cancel, control_key("slow", "cancel"))
        await until(lambda: any(b"execution.cancelled" in r[2] for r in log._records))
    late = NodeCompleted(node_id="a", attempt=1, completed_at=T0, output=1)
    seq = await log.outcomes().append("slow", late, result_key("slow", "a", 1))
    report = await verify(log, "slow")
    assert report.ok and report.ended and report.uncovered == [seq]
