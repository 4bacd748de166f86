"""Cron triggers as JetStream message schedules: one schedule subject per trigger in
FM_TRIGGERS, firing onto the trigger's fire subject, which the gateway consumes.

The server keeps the timer, so no process holds one: a schedule fires while every gateway
is down (the fire waits in the stream) and after a server restart (a fire due during the
outage is written then). Publishing again replaces a schedule; purging it stops it.
"""

from __future__ import annotations

import msgspec
from nats.js import JetStreamContext

from flowmaestro.events.names import (
    TRIGGER_STREAM,
    Header,
    trigger_fire_subject,
    trigger_schedule_subject,
)

__all__ = ["ScheduleFire", "arm", "disarm"]


class ScheduleFire(msgspec.Struct, frozen=True, kw_only=True):
    """The payload of a schedule, copied into each fire: the schedule it came from, so a
    fire written before a change is read against the cron that made it."""

    trigger_id: str
    cron: str
    timezone: str


async def arm(js: JetStreamContext, trigger_id: str, cron: str, timezone: str) -> None:
    """Start (or replace) the trigger's schedule; `cron` has six fields, seconds first."""
    payload = msgspec.json.encode(ScheduleFire(trigger_id=trigger_id, cron=cron, timezone=timezone))
    await js.publish(
        trigger_schedule_subject(trigger_id),
        payload,
        stream=TRIGGER_STREAM,
        headers={
            Header.SCHEDULE: cron,
            Header.SCHEDULE_TARGET: trigger_fire_subject(trigger_id),
            Header.SCHEDULE_TIME_ZONE: timezone,
        },
    )


async def disarm(js: JetStreamContext, trigger_id: str) -> None:
    """Stop the trigger's schedule (fires already written stay, and are read as stale)."""
    await js.purge_stream(TRIGGER_STREAM, subject=trigger_schedule_subject(trigger_id))
