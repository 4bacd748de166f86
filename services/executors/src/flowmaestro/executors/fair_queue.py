"""Slots shared fairly by tenants: a bounded number held at once, a cap per tenant, and
waiters served round-robin by tenant rather than first come, first served."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

__all__ = ["FairSlots", "QueueFull"]


class QueueFull(Exception):
    """More tasks are waiting than the queue may hold."""


class FairSlots:
    """At most `capacity` slots held, at most `per_owner` by one owner.

    A freed slot goes to the next owner in turn that has a waiter and is under its cap,
    so one owner's long queue delays another owner's task by at most one turn.
    """

    def __init__(self, capacity: int, per_owner: int, max_waiting: int) -> None:
        self.capacity = capacity
        self.per_owner = max(1, min(per_owner, capacity))
        self.max_waiting = max_waiting
        self._held: dict[str, int] = {}
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._waiters = 0

    @property
    def held(self) -> int:
        """Slots held now."""
        return sum(self._held.values())

    @property
    def waiting(self) -> int:
        """Tasks waiting for a slot."""
        return self._waiters

    def held_by(self, owner: str) -> int:
        """Slots `owner` holds now."""
        return self._held.get(owner, 0)

    async def acquire(self, owner: str) -> None:
        """Wait for a slot for `owner`; raises `QueueFull` when too many already wait."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(owner, deque()).append(future)
        self._waiters += 1
        self._dispatch()
        if future.done():
            return
        if self._waiters > self.max_waiting:
            self._forget(owner, future)
            raise QueueFull(f"{self.max_waiting} tasks are already waiting")
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(owner)  # granted, but the waiter left before using it
            else:
                self._forget(owner, future)
            raise

    def release(self, owner: str) -> None:
        """Give back one slot of `owner` and hand free slots to waiters in turn."""
        left = self._held.get(owner, 0) - 1
        if left > 0:
            self._held[owner] = left
        else:
            self._held.pop(owner, None)
        self._dispatch()

    @contextlib.asynccontextmanager
    async def slot(self, owner: str) -> AsyncIterator[None]:
        """Hold one slot for `owner` during the block."""
        await self.acquire(owner)
        try:
            yield
        finally:
            self.release(owner)

    def _under_cap(self, owner: str) -> bool:
        return self._held.get(owner, 0) < self.per_owner

    def _grant(self, owner: str) -> None:
        self._held[owner] = self._held.get(owner, 0) + 1

    def _forget(self, owner: str, future: asyncio.Future[None]) -> None:
        queue = self._waiting.get(owner)
        if queue is not None and future in queue:
            queue.remove(future)
            self._waiters -= 1
            if not queue:
                del self._waiting[owner]

    def _dispatch(self) -> None:
        while self.held < self.capacity:
            owner = next((o for o in self._waiting if self._under_cap(o)), None)
            if owner is None:
                return
            queue = self._waiting.pop(owner)
            future = queue.popleft()
            self._waiters -= 1
            if queue:
                self._waiting[owner] = queue  # to the back of the round
            if future.cancelled():
                continue
            self._grant(owner)
            future.set_result(None)
