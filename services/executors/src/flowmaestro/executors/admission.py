"""Admission: whether a command may run now — its tenant's fair share, then rate limits.

The tenant's slot comes first (a local count, see `fairness`), so a command waiting for
its tenant's turn holds no shared rate-limit lease. Rate limits are shared by every
replica (see `flowmaestro.runtime.ratelimit`): per node type from the environment and per
integration from its config.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from flowmaestro.events import ExecuteNode
from flowmaestro.executors.fairness import TenantSlots
from flowmaestro.runtime.ratelimit import Lease, RateLimit, RateLimiter
from flowmaestro.runtime.secrets import IntegrationDirectory

__all__ = ["FAIR_SHARE_DELAY_S", "Admission", "Ticket"]

FAIR_SHARE_DELAY_S = 1.0
"""When a tenant's queue for a node type is full, its command comes back after this."""


@dataclass(slots=True)
class Ticket:
    """What an admitted command holds until it has run."""

    owner_id: str | None
    node_type: str
    leases: list[Lease] = field(default_factory=list)
    holds_slot: bool = True


class Admission:
    """Admits commands under the tenant caps and the shared rate limits."""

    def __init__(
        self,
        slots: TenantSlots,
        limiter: RateLimiter,
        integrations: IntegrationDirectory,
        rate_limits: dict[str, RateLimit],
    ) -> None:
        self.slots = slots
        self._limiter = limiter
        self._integrations = integrations
        self._rate_limits = rate_limits

    async def admit(
        self, command: ExecuteNode, before_waiting: Callable[[], Awaitable[None]]
    ) -> Ticket | float:
        """A ticket, or the delay after which the command should be delivered again.

        `before_waiting` runs once when the command must queue for its tenant's turn (the
        command loop frees its pull slot there, so other tenants' commands flow).
        """
        owner, node_type = command.owner_id, command.node_type
        if not self.slots.try_take(owner, node_type):
            await before_waiting()
            if not await self.slots.take(owner, node_type):
                return FAIR_SHARE_DELAY_S
        ticket = Ticket(owner, node_type)
        try:
            delay = await self._rate_limited(command, ticket)
        except BaseException:
            await self.release(ticket)
            raise
        if delay > 0:
            await self.release(ticket)
            return delay
        return ticket

    async def release(self, ticket: Ticket) -> None:
        """Give back the tenant's slot and every lease of `ticket`."""
        if ticket.holds_slot:
            ticket.holds_slot = False
            self.slots.give_back(ticket.owner_id, ticket.node_type)
        leases, ticket.leases = ticket.leases, []
        for lease in leases:
            with contextlib.suppress(Exception):
                await self._limiter.release(lease)

    async def _rate_limited(self, command: ExecuteNode, ticket: Ticket) -> float:
        limits: list[tuple[str, RateLimit]] = []
        if (by_type := self._rate_limits.get(command.node_type)) is not None:
            limits.append((f"type.{command.node_type}", by_type))
        integration_id = command.config.get("integration_id")
        if isinstance(integration_id, str):
            record = await self._integrations.get(integration_id)
            # Another tenant's integration is not found later; its limit is not ours to use.
            mine = record is not None and (
                command.owner_id is None or record.owner_id == command.owner_id
            )
            raw = record.config.get("rate_limit") if record and mine else None
            if isinstance(raw, dict):
                with contextlib.suppress(msgspec.ValidationError):
                    limits.append(
                        (f"integration.{integration_id}", msgspec.convert(raw, RateLimit))
                    )
        for scope, limit in limits:
            lease, delay = await self._limiter.admit(scope, limit, command.timeout_seconds + 30)
            if delay > 0:
                return delay
            if lease is not None:
                ticket.leases.append(lease)
        return 0.0
