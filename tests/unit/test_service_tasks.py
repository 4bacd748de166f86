"""A service's loops live in one task group: one failing stops the others, and a stop
leaves no task behind."""

from __future__ import annotations

import asyncio

import pytest

from flowmaestro.runtime.service import run_until_stopped

pytestmark = pytest.mark.asyncio


async def test_a_failing_loop_cancels_its_siblings_and_its_error_is_raised() -> None:
    cancelled = asyncio.Event()

    async def sibling() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise ConnectionError("the pull loop lost its server")

    with pytest.raises(ConnectionError, match="lost its server"):
        await asyncio.wait_for(run_until_stopped(asyncio.Event(), sibling, failing), 5)
    assert cancelled.is_set()


async def test_a_stop_cancels_every_loop_and_every_task_started_later() -> None:
    stop = asyncio.Event()
    before = asyncio.all_tasks()
    ended: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    async def loop() -> None:
        await forever("loop")

    def started(group) -> None:
        group.start_soon(forever, "handler")

    asyncio.get_running_loop().call_later(0.05, stop.set)
    await asyncio.wait_for(run_until_stopped(stop, loop, started=started), 5)
    assert sorted(ended) == ["handler", "loop"]
    assert asyncio.all_tasks() == before
