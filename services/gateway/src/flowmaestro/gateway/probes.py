"""Asking an executor to test an integration or list a provider's models.

The connection is made by an executor, behind the nodes' egress policy: the gateway never
connects to an address a tenant chose. It sends only ids whose owner it has checked.
"""

from __future__ import annotations

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from flowmaestro.events.names import probe_subject
from flowmaestro.events.probes import ProbeReply, ProbeRequest
from flowmaestro.gateway.errors import ProbeUnavailableError, RateLimitedError
from flowmaestro.gateway.services import Services
from flowmaestro.runtime.ratelimit import RateLimit

__all__ = ["probe"]

_DECODE = msgspec.json.Decoder(ProbeReply)
_SLACK_S = 2.0
"""Extra wait for the reply beyond the probe's own bound (NATS round trip, scheduling)."""


async def probe(services: Services, request: ProbeRequest) -> ProbeReply:
    """The executor's answer; `RateLimitedError` past the user's probes per minute,
    `ProbeUnavailableError` when no executor answers in time."""
    _, delay = await services.rate_limiter.admit(
        f"probe.{request.owner_id}",
        RateLimit(requests=services.settings.probe_rate_per_minute, per_seconds=60),
        0,
    )
    if delay > 0:
        raise RateLimitedError("too many connection tests; try again shortly", delay)
    return await _ask(services.nc, request)


async def _ask(nc: Client, request: ProbeRequest) -> ProbeReply:
    try:
        msg = await nc.request(
            probe_subject(), msgspec.json.encode(request), timeout=request.timeout_s + _SLACK_S
        )
    except (NoRespondersError, NatsTimeoutError, TimeoutError) as exc:
        raise ProbeUnavailableError("no executor answered; is one running?") from exc
    return _DECODE.decode(msg.data)
