"""The bounded worker pool: reuse, wall time, memory, crashes, fairness and a full queue."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flowmaestro.executors.fair_queue import FairSlots, QueueFull
from flowmaestro.executors.workers import PoolSpec, TaskFailed, WorkerPool

MIB = 1024 * 1024


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    """Two probe workers, one slot per tenant, a queue of four."""
    workers = WorkerPool(PoolSpec("probe", "flowmaestro.workers.probe", 2, 1, 4))
    yield workers
    workers.close()


async def test_a_worker_is_reused_and_answers_fast(pool: WorkerPool) -> None:
    first = await pool.run("a", {"do": "pid"}, seconds=30, memory_mb=64)
    began = time.perf_counter()
    for _ in range(20):
        assert await pool.run("a", {"value": {"x": [1, 2]}}, seconds=5, memory_mb=64) == {
            "x": [1, 2]
        }
    assert (time.perf_counter() - began) / 20 < 0.05
    assert await pool.run("a", {"do": "pid"}, seconds=5, memory_mb=64) in {first} | {
        w.pid for w in pool._all
    }


async def test_wall_time_kills_the_worker_and_a_new_one_serves_next(pool: WorkerPool) -> None:
    await pool.run("a", {"do": "pid"}, seconds=30, memory_mb=64)
    pids = {w.pid for w in pool._all}
    began = time.monotonic()
    with pytest.raises(TaskFailed) as caught:
        await pool.run("a", {"do": "spin"}, seconds=0.3, memory_mb=64)
    assert caught.value.kind == "timeout" and time.monotonic() - began < 2
    for _ in range(4):
        pid = await pool.run("a", {"do": "pid"}, seconds=30, memory_mb=64)
        assert pid in {w.pid for w in pool._all}
    assert {w.pid for w in pool._all} != pids or len(pids) < 2


@pytest.mark.parametrize("size", [512 * MIB, 4 * 1024 * MIB])
async def test_memory_over_the_limit_fails_the_task_only(pool: WorkerPool, size: int) -> None:
    with pytest.raises(TaskFailed) as caught:
        await pool.run("a", {"do": "allocate", "bytes": size}, seconds=10, memory_mb=64)
    assert caught.value.kind == "memory"
    assert await pool.run("a", {"value": 7}, seconds=30, memory_mb=64) == 7


async def test_memory_under_the_limit_is_fine(pool: WorkerPool) -> None:
    assert (
        await pool.run(
            "a", {"do": "allocate", "bytes": 32 * MIB, "value": 1}, seconds=10, memory_mb=128
        )
        == 1
    )


async def test_a_crash_fails_the_task_and_the_worker_is_replaced(pool: WorkerPool) -> None:
    with pytest.raises(TaskFailed) as caught:
        await pool.run("a", {"do": "crash"}, seconds=10, memory_mb=64)
    assert caught.value.kind == "crash" and "SIGSEGV" in caught.value.message
    assert await pool.run("a", {"value": "fine"}, seconds=30, memory_mb=64) == "fine"


async def test_a_task_failure_keeps_its_kind_and_the_worker(pool: WorkerPool) -> None:
    pid = await pool.run("a", {"do": "pid"}, seconds=30, memory_mb=64)
    with pytest.raises(TaskFailed) as caught:
        payload = {"do": "fail", "kind": "parse", "message": "bad"}
        await pool.run("a", payload, seconds=10, memory_mb=64)
    assert (caught.value.kind, caught.value.message) == ("parse", "bad")
    assert pid in {w.pid for w in pool._all}


async def test_a_cancelled_task_does_not_leave_its_reply_for_the_next(pool: WorkerPool) -> None:
    task = asyncio.ensure_future(
        pool.run("a", {"do": "sleep", "seconds": 5}, seconds=10, memory_mb=64)
    )
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pool.run("a", {"value": 2}, seconds=30, memory_mb=64) == 2


async def test_another_tenant_is_served_while_one_holds_its_share(pool: WorkerPool) -> None:
    await pool.run("b", {"do": "pid"}, seconds=30, memory_mb=64)  # both workers started
    hogs = [
        asyncio.ensure_future(
            pool.run("a", {"do": "sleep", "seconds": 0.6}, seconds=10, memory_mb=64)
        )
        for _ in range(3)
    ]
    await asyncio.sleep(0.2)
    began = time.monotonic()
    assert await pool.run("b", {"value": "b"}, seconds=10, memory_mb=64) == "b"
    assert time.monotonic() - began < 0.5  # not behind tenant a's queue
    await asyncio.gather(*hogs)


async def test_a_full_queue_is_busy(pool: WorkerPool) -> None:
    hogs = [
        asyncio.ensure_future(
            pool.run("a", {"do": "sleep", "seconds": 0.3}, seconds=10, memory_mb=64)
        )
        for _ in range(5)
    ]
    await asyncio.sleep(0.1)
    with pytest.raises(TaskFailed) as caught:
        await pool.run("a", {"value": 1}, seconds=10, memory_mb=64)
    assert caught.value.kind == "busy"
    await asyncio.gather(*hogs)


async def test_a_worker_sees_no_environment(pool: WorkerPool) -> None:
    os.environ["FLOWMAESTRO_SECRET_PROBE"] = "s3cret"
    try:
        pid = await pool.run("a", {"do": "pid"}, seconds=30, memory_mb=64)
        environ = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)
        assert b"s3cret" not in environ
    finally:
        del os.environ["FLOWMAESTRO_SECRET_PROBE"]


async def test_fair_slots_take_owners_in_turn_and_cap_each() -> None:
    slots = FairSlots(capacity=2, per_owner=2, max_waiting=10)
    order: list[str] = []

    async def job(owner: str) -> None:
        async with slots.slot(owner):
            order.append(owner)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(job("a") for _ in range(6)), *(job("b") for _ in range(2)))
    assert order[:2] == ["a", "a"] and "b" in order[2:4]
    capped = FairSlots(capacity=4, per_owner=1, max_waiting=10)
    await capped.acquire("a")
    waiter = asyncio.ensure_future(capped.acquire("a"))
    await asyncio.sleep(0.01)
    assert not waiter.done() and capped.held_by("a") == 1
    await capped.acquire("b")
    capped.release("a")
    await waiter
    with pytest.raises(QueueFull):
        small = FairSlots(capacity=1, per_owner=1, max_waiting=0)
        await small.acquire("a")
        await small.acquire("b")


async def test_closing_a_pool_ends_all_its_tasks_and_workers() -> None:
    """The pool's background work (spares starting, retired workers reaped) lives in the
    pool's own task group, and each call's memory watchdog in the call's: closing the pool
    leaves no task of it and no worker process behind."""
    before = asyncio.all_tasks()
    workers = WorkerPool(PoolSpec("probe", "flowmaestro.workers.probe", 2, 1, 4))
    workers.warm()
    assert await workers.run("a", {"value": 1}, seconds=30, memory_mb=64) == 1
    with pytest.raises(TaskFailed):
        await workers.run("a", {"do": "spin"}, seconds=0.3, memory_mb=64)  # retires one
    pids = {w.pid for w in workers._all}
    workers.close()
    await asyncio.sleep(0.2)
    assert asyncio.all_tasks() == before
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
