"""Per-tenant concurrency caps per node type, within one executor process.

One tenant may hold at most `cap(node type)` of a pool's slots at once; its further
commands wait in a short local queue (their pull slots freed, so other tenants' commands
keep flowing) and beyond that are handed back for redelivery after a delay. Neither
counts as a crash of the command.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_TENANT_CAP", "TenantCaps", "TenantSlots"]

DEFAULT_TENANT_CAP = 128
"""Slots of one node type one tenant may hold in one executor, unless configured: half
of a pool's 256, so one tenant always leaves the other half to the rest."""

_ENV = "FLOWMAESTRO_TENANT_CONCURRENCY"


@dataclass(frozen=True, slots=True)
class TenantCaps:
    """The cap of each node type; 0 means no cap."""

    default: int = DEFAULT_TENANT_CAP
    by_type: Mapping[str, int] = field(default_factory=dict)

    def cap(self, node_type: str) -> int:
        """At most this many commands of `node_type` per tenant at once (0: no cap)."""
        return self.by_type.get(node_type, self.default)

    @classmethod
    def parse(cls, text: str) -> TenantCaps:
        """Caps from `default=16,llm=4,code=2` (a bare number is the default)."""
        default, by_type = DEFAULT_TENANT_CAP, {}
        for entry in filter(None, (e.strip() for e in text.split(","))):
            name, sep, value = entry.rpartition("=")
            try:
                cap = int(value)
            except ValueError:
                raise ValueError(f"{_ENV}: {entry!r} is not TYPE=NUMBER") from None
            if cap < 0:
                raise ValueError(f"{_ENV}: {entry!r} is negative")
            if not sep or name.strip() == "default":
                default = cap
            else:
                by_type[name.strip()] = cap
        return cls(default=default, by_type=by_type)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TenantCaps:
        """Caps from `FLOWMAESTRO_TENANT_CONCURRENCY`, or the defaults."""
        return cls.parse(environ.get(_ENV, ""))


_Key = tuple[str | None, str]


class TenantSlots:
    """Counts each tenant's running commands per node type and queues those over the cap."""

    def __init__(self, caps: TenantCaps, max_waiting: int = 256) -> None:
        self.caps = caps
        self.max_waiting = max_waiting
        self._held: dict[_Key, int] = {}
        self._waiters: dict[_Key, deque[asyncio.Future[None]]] = {}

    def held(self, owner_id: str | None, node_type: str) -> int:
        """How many slots the tenant holds for `node_type` now."""
        return self._held.get((owner_id, node_type), 0)

    def try_take(self, owner_id: str | None, node_type: str) -> bool:
        """Take a slot at once when the tenant is under its cap and nobody is queued."""
        key = (owner_id, node_type)
        cap = self.caps.cap(node_type)
        held = self._held.get(key, 0)
        if cap and (held >= cap or self._waiters.get(key)):
            return False
        self._held[key] = held + 1
        return True

    async def take(self, owner_id: str | None, node_type: str) -> bool:
        """Wait in the tenant's queue for a slot; False at once when the queue is full."""
        if self.try_take(owner_id, node_type):
            return True
        key = (owner_id, node_type)
        queue = self._waiters.setdefault(key, deque())
        if len(queue) >= self.max_waiting:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.give_back(owner_id, node_type)  # handed over just as we were cancelled
            raise
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(future)
            if not queue:
                self._waiters.pop(key, None)
        return True

    def give_back(self, owner_id: str | None, node_type: str) -> None:
        """Free a slot: hand it to the tenant's next waiter, or drop the count."""
        key = (owner_id, node_type)
        queue = self._waiters.get(key)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)  # the slot passes on; the count stays
                return
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)
