"""Snapshots of folded states, on the memory log: written every N events, a recovery from
snapshot + tail equals the full fold, an unusable snapshot is ignored, and `fold` is
linear and leaves its input alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from flowmaestro.events import ExecutionCompleted, ExecutionState, evolve, fold
from flowmaestro.events.chain import ChainHead, genesis, message_digest
from flowmaestro.events.codec import parse_jsonl
from flowmaestro.runtime import Settings
from flowmaestro.runtime.eventlog import MemoryEventLog
from flowmaestro.runtime.snapshots import (
    SNAPSHOT_VERSION,
    STATE_SHAPE,
    SnapshotUnusableError,
    decode_snapshot,
    encode_snapshot,
)
from flowmaestro.scheduler import Scheduler
from flowmaestro.scheduler.snapshots import Snapshots
from tests.support.long_loop import loop_events, loop_started
from tests.unit.test_scheduler_memory import ended, engine, until

EVERY = 10
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


async def long_log(events: int, items: int = 200) -> tuple[MemoryEventLog, str]:
    """A memory log holding one loop execution still running after `events` events."""
    log = MemoryEventLog()
    first = loop_started("long", items)
    await log.start(first)
    for kind, event in loop_events(first, events):
        await log.append("long", event, kind=kind)
    return log, "long"


async def full_fold(log: MemoryEventLog, execution_id: str) -> ExecutionState:
    state = None
    for seq, event in await log.read(execution_id):
        state = evolve(state, event, seq)
    assert state is not None
    return state


async def full_chain(log: MemoryEventLog, execution_id: str) -> ChainHead:
    chain = genesis(execution_id)
    for entry in await log.read_log(execution_id):
        chain = chain.extend(entry.seq, message_digest(entry.kind, entry.data))
    return chain


async def loaded_state(writer: Snapshots, execution_id: str) -> ExecutionState | None:
    """What `writer` loads, checking that its chain is the chain over the whole log."""
    loaded = await writer.load(execution_id)
    if loaded is None:
        return None
    state, chain = loaded
    assert chain == await full_chain(writer.log, execution_id)  # type: ignore[arg-type]
    return state


def test_fold_equals_evolving_one_event_at_a_time_and_leaves_its_input_alone() -> None:
    first = loop_started("f", 300)
    records = [(1, first), *((seq, e) for seq, (_, e) in enumerate(loop_events(first), 2))]
    one_by_one = None
    for seq, event in records:
        one_by_one = evolve(one_by_one, event, seq)
    assert fold(records) == one_by_one
    half = fold(records[: len(records) // 2])
    before = msgspec.msgpack.encode(half)
    assert fold(records[len(records) // 2 :], half) == one_by_one
    assert msgspec.msgpack.encode(half) == before, "the state folded from is unchanged"


def test_fold_is_linear_in_a_long_loop() -> None:
    first = loop_started("f", 4000)
    records = [(1, first), *((seq, e) for seq, (_, e) in enumerate(loop_events(first), 2))]
    began = time.perf_counter()
    state = fold(records)
    assert state.status.value == "completed" and len(records) > 8000
    assert time.perf_counter() - began < 1.0  # quadratic, it took ~4 s


def test_a_state_round_trips_through_its_snapshot() -> None:
    first = loop_started("f", 50)
    records = [(1, first), *((seq, e) for seq, (_, e) in enumerate(loop_events(first, 70), 2))]
    state = fold(records)
    assert decode_snapshot(encode_snapshot(state), "f") == state


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.jsonl")), ids=lambda p: p.stem)
def test_every_recorded_logs_states_round_trip(path: Path) -> None:
    """Real logs (retries, waits, approvals, failures, loops): each prefix's state comes
    back equal from its snapshot."""
    records = parse_jsonl(path.read_text().splitlines())
    for end in range(1, len(records) + 1):
        state = fold(records[:end])
        assert decode_snapshot(encode_snapshot(state), state.execution_id) == state


@pytest.mark.asyncio
async def test_a_snapshot_is_written_every_n_events_and_deleted_when_the_run_ends() -> None:
    log = MemoryEventLog()
    first = loop_started("looped", 30, concurrency=4)
    async with engine(log, Settings(effect_attempts=3, snapshot_every=EVERY)) as scheduler:
        await log.start(first)
        end = await ended(log, "looped")
        # deleted once the scheduler has folded the end it wrote
        await until(lambda: not log.snapshots.stored)
        await scheduler.snapshots.close()
    assert isinstance(end, ExecutionCompleted)
    assert end.outputs["result"]["results"] == list(range(30))
    events = len(await log.read("looped"))
    # at most one per EVERY events (one at a time: a batch's events wait for the write in
    # flight); none for the children, whose logs are shorter than EVERY
    assert 1 <= log.snapshots.puts <= events // EVERY
    assert log.snapshots.stored == {}, "a finished execution's snapshot is deleted"


@pytest.mark.asyncio
async def test_a_snapshot_is_due_every_n_events_of_the_execution() -> None:
    log = MemoryEventLog()
    first = loop_started("grows", 200)
    await log.start(first)
    writer = Snapshots(log, EVERY)
    seqs = []
    for kind, event in loop_events(first, 95):
        await log.append("grows", event, kind=kind)
        writer.observe("grows", await full_fold(log, "grows"))
        await writer.close()
        stored = log.snapshots.stored.get("grows")
        seq = decode_snapshot(stored, "grows").last_seq if stored else None
        if seq is not None and seq not in seqs:
            seqs.append(seq)
    assert seqs == [10, 20, 30, 40, 50, 60, 70, 80, 90], "the fold at each 10th event"


@pytest.mark.asyncio
async def test_recovery_from_snapshot_and_tail_equals_the_full_fold() -> None:
    log, execution_id = await long_log(95)
    writer = Snapshots(log, EVERY)
    held = await loaded_state(writer, execution_id)  # no snapshot yet: the whole log
    assert held is not None
    writer.observe(execution_id, held)
    await writer.close()
    stored = decode_snapshot(log.snapshots.stored[execution_id], execution_id)
    assert stored == await full_fold(log, execution_id)
    first = loop_started("long", 200)
    for kind, event in list(loop_events(first, 120))[94:]:  # the log goes on
        await log.append(execution_id, event, kind=kind)
    recovered = await loaded_state(Snapshots(log, EVERY), execution_id)
    assert recovered == await full_fold(log, execution_id)
    assert recovered is not None and recovered.last_seq > stored.last_seq


@pytest.mark.asyncio
async def test_the_tail_is_folded_onto_the_stored_snapshot() -> None:
    log, execution_id = await long_log(60)
    state = await full_fold(log, execution_id)
    marked = msgspec.structs.replace(state, vars={"from": "snapshot"})
    chain = await full_chain(log, execution_id)
    await log.snapshots.put(execution_id, encode_snapshot(marked, chain))
    first = loop_started("long", 200)
    tail = list(loop_events(first, 70))[59:]
    for kind, event in tail:
        await log.append(execution_id, event, kind=kind)
    recovered = await loaded_state(Snapshots(log, EVERY), execution_id)
    assert recovered is not None
    assert recovered.vars == {"from": "snapshot"}, "the snapshot was used, not the log's start"
    assert recovered.last_seq == (await log.read(execution_id))[-1][0]
    assert recovered.event_count == state.event_count + len(tail)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(b"not a snapshot", id="corrupt"),
        pytest.param(
            msgspec.msgpack.encode([SNAPSHOT_VERSION - 1, STATE_SHAPE, "long", 5, b""]),
            id="old-version",
        ),
        pytest.param(
            msgspec.msgpack.encode([SNAPSHOT_VERSION, "0123456789abcdef", "long", 5, b""]),
            id="other-shape",
        ),
        pytest.param(
            msgspec.msgpack.encode([SNAPSHOT_VERSION, STATE_SHAPE, "long", 5, b"\x00bad"]),
            id="corrupt-state",
        ),
    ],
)
async def test_an_unusable_snapshot_is_ignored(stored: bytes) -> None:
    log, execution_id = await long_log(40)
    with pytest.raises(SnapshotUnusableError):
        decode_snapshot(stored, execution_id)
    await log.snapshots.put(execution_id, stored)
    assert await loaded_state(Snapshots(log, EVERY), execution_id) == await full_fold(
        log, execution_id
    )


@pytest.mark.asyncio
async def test_a_snapshot_without_the_logs_chain_is_ignored() -> None:
    log, execution_id = await long_log(60)
    marked = msgspec.structs.replace(await full_fold(log, execution_id), vars={"from": "x"})
    await log.snapshots.put(execution_id, encode_snapshot(marked))
    recovered = await loaded_state(Snapshots(log, EVERY), execution_id)
    assert recovered == await full_fold(log, execution_id), "folded from the log's start"


@pytest.mark.asyncio
async def test_another_executions_snapshot_is_ignored() -> None:
    log, execution_id = await long_log(40)
    await log.snapshots.put("another", encode_snapshot(await full_fold(log, execution_id)))
    assert await Snapshots(log, EVERY).load("another") is None


@pytest.mark.asyncio
async def test_a_scheduler_replaced_mid_run_recovers_from_the_snapshot() -> None:
    log = MemoryEventLog()
    first = loop_started("swap", 600, concurrency=2)  # ~1,200 events: stopped well before
    settings = Settings(effect_attempts=3, snapshot_every=EVERY)
    async with engine(log, settings) as scheduler:
        await log.start(first)
        while log.snapshots.puts < 3:  # noqa: ASYNC110 - polling a plain value
            await asyncio.sleep(0.002)
        await scheduler.snapshots.close()
    assert "swap" in log.snapshots.stored
    fresh = Scheduler(log, settings=settings)
    assert await fresh._load("swap", 0) == await full_fold(log, "swap")
    async with engine(log, settings):
        end = await ended(log, "swap")
    assert isinstance(end, ExecutionCompleted)
    assert end.outputs["result"]["results"] == list(range(600))
