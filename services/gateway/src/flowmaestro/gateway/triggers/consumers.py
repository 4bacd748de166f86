"""The gateway's consumers of trigger fires: schedule fires from FM_TRIGGERS and tenants'
events from FM_EVENTS, each through a durable pull consumer per read-model database.

The gateway consumes them, not the scheduler: a fire becomes a run the way an API start
does — the workflow's current version and the workflows it calls are read from
PostgreSQL, the inputs checked against its input nodes, and `execution.started` appended —
and the gateway alone holds that store and starts executions (the scheduler never talks
to PostgreSQL). Gateway replicas share each durable consumer, so a fire is handled once
among them; a message is acknowledged only after its run started (or its refusal was
recorded), so a gateway that stops mid-way leaves it to be redelivered, and the run's
deterministic id keeps the redelivery from starting a second run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from flowmaestro.events.names import (
    EVENT_STREAM,
    TRIGGER_STREAM,
    Header,
    tenant_event_consumer,
    tenant_event_filter,
    tenant_event_owner,
    tenant_event_wildcard,
    trigger_fire_consumer,
    trigger_fire_subject,
    trigger_fire_wildcard,
)
from flowmaestro.gateway.errors import DatabaseUnavailableError, GatewayError, NotFoundError
from flowmaestro.gateway.triggers import cron
from flowmaestro.gateway.triggers.schedules import ScheduleFire
from flowmaestro.gateway.triggers.service import fire, set_paused
from flowmaestro.gateway.triggers.subjects import subject_matches

if TYPE_CHECKING:
    from flowmaestro.gateway.services import Services

__all__ = [
    "CATCH_UP",
    "ensure_trigger_consumers",
    "handle_event",
    "handle_fire",
    "run_trigger_consumers",
]

log = structlog.get_logger("flowmaestro.triggers")

CATCH_UP = "missed: run once"
"""The detail of the one run a `run_once` schedule makes for the fires it missed."""


async def ensure_trigger_consumers(nc: Client, projector: str, ack_wait_s: float = 30.0) -> None:
    """Create (or keep) the two durable consumers of this read-model database."""
    js = nc.jetstream()
    for stream, name, subject in (
        (TRIGGER_STREAM, trigger_fire_consumer(projector), trigger_fire_wildcard()),
        (EVENT_STREAM, tenant_event_consumer(projector), tenant_event_wildcard()),
    ):
        await js.add_consumer(
            stream,
            ConsumerConfig(
                durable_name=name,
                filter_subject=subject,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ack_wait_s,
                max_ack_pending=1_000,
                max_deliver=-1,
            ),
        )


async def handle_fire(services: Services, msg: Msg) -> None:
    """One schedule fire: start its run, or record why not. Late fires (read more than
    the grace after their time, as when the platform was down) follow the trigger's
    missed-run policy: `skip`, or `run_once` — the first of the fires missed together
    runs (marked `CATCH_UP`), the others are skipped."""
    trigger_id = msg.subject.rsplit(".", 1)[-1]
    if msg.subject != trigger_fire_subject(trigger_id):
        return
    row = await services.triggers.by_id(trigger_id)
    if row is None or row.kind != "schedule":
        return  # deleted (or of another read-model database sharing the server)
    try:
        made_by = msgspec.json.decode(msg.data, type=ScheduleFire)
        following = datetime.fromisoformat((msg.headers or {})[Header.SCHEDULE_NEXT])
        scheduled_at = cron.fire_before(made_by.cron, made_by.timezone, following)
    except (msgspec.DecodeError, KeyError, ValueError, cron.CronError):
        scheduled_at = msg.metadata.timestamp.astimezone(UTC).replace(microsecond=0)
    fire_key = scheduled_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if row.paused:
        await services.triggers.record_fire(
            row.id, fire_key, "skipped", None, scheduled_at, "the trigger is paused"
        )
        return
    late = (datetime.now(UTC) - scheduled_at).total_seconds() > services.settings.trigger_grace_s
    detail = None
    if late:
        if row.config.get("missed") != "run_once":
            await services.triggers.record_fire(
                row.id, fire_key, "skipped", None, scheduled_at, "missed: the platform was down"
            )
            return
        previous = await services.triggers.started_before(row.id, scheduled_at)
        if previous is not None and previous.detail == CATCH_UP:
            await services.triggers.record_fire(
                row.id, fire_key, "skipped", None, scheduled_at, "missed: ran once already"
            )
            return
        detail = CATCH_UP
    try:
        await fire(services, row, {}, fire_key, scheduled_at, detail)
    except NotFoundError:
        # the workflow was deleted: stop the schedule rather than refuse every fire
        await set_paused(services, row.owner_id, row.id, True, None)
    except GatewayError:
        pass  # refused (invalid inputs): recorded with its reason


async def handle_event(services: Services, msg: Msg) -> None:
    """One message in a tenant's event namespace: a run for each of the owner's event
    triggers whose pattern matches it (and that existed when it was published). A JSON
    object body becomes inputs; anything else is refused and recorded."""
    owner_id = tenant_event_owner(msg.subject)
    if owner_id is None:
        return
    published = msg.metadata.timestamp.astimezone(UTC)
    fire_key = f"event:{msg.metadata.sequence.stream}"
    for row in await services.triggers.event_triggers(owner_id):
        if row.created_at > published:
            continue
        if not subject_matches(tenant_event_filter(owner_id, row.config["subject"]), msg.subject):
            continue
        inputs: Any = None
        with contextlib.suppress(msgspec.DecodeError):
            inputs = msgspec.json.decode(msg.data) if msg.data.strip() else {}
        if not isinstance(inputs, dict):
            await services.triggers.record_fire(
                row.id, fire_key, "refused", None, None, "the event is not a JSON object"
            )
            continue
        with contextlib.suppress(GatewayError):
            await fire(services, row, inputs, fire_key)


async def _consume(
    services: Services,
    stream: str,
    consumer: str,
    handle: Callable[[Services, Msg], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    js = services.nc.jetstream()
    sub = await js.pull_subscribe_bind(consumer, stream)
    try:
        while not stop.is_set():
            try:
                batch = await sub.fetch(1, timeout=1.0)
            except TimeoutError:
                continue
            except Exception:
                log.exception("triggers.fetch_failed", consumer=consumer)
                await asyncio.sleep(1.0)
                continue
            for msg in batch:
                try:
                    await handle(services, msg)
                except DatabaseUnavailableError:
                    await msg.nak(delay=2.0)  # handled once PostgreSQL is back
                    continue
                except Exception:
                    log.exception("triggers.failed", consumer=consumer, subject=msg.subject)
                    await msg.nak(delay=5.0)
                    continue
                await msg.ack()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def run_trigger_consumers(services: Services, stop: asyncio.Event) -> None:
    """Consume schedule fires and tenants' events until `stop` is set."""
    projector = services.settings.projector_name
    await asyncio.gather(
        _consume(services, TRIGGER_STREAM, trigger_fire_consumer(projector), handle_fire, stop),
        _consume(services, EVENT_STREAM, tenant_event_consumer(projector), handle_event, stop),
    )
