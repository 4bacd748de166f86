"""What the trigger routes and the fire consumers do: check a trigger's spec, keep its
cron schedule in JetStream in step with its row, answer it, and start a run for a fire.

A fire starts a run under a deterministic execution id made from the trigger and the fire
(`names.trigger_execution_id`), and the event log refuses a second start of an id, so a
fire delivered twice, or a replayed webhook request, starts one run; the fire is recorded
once (`trigger_fires`, keyed by trigger and fire).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from nats.js.errors import BadRequestError

from flowmaestro.events import Actor, TriggerRef
from flowmaestro.events.names import tenant_event_filter, trigger_execution_id
from flowmaestro.gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from flowmaestro.gateway.models import ExecutionStart
from flowmaestro.gateway.routes.workflows import called_definitions
from flowmaestro.gateway.runs import start_execution
from flowmaestro.gateway.store.triggers import Effect, FireRow, TriggerRow
from flowmaestro.gateway.triggers import cron, schedules
from flowmaestro.gateway.triggers.models import (
    EventOut,
    EventSpec,
    ScheduleSpec,
    ScheduleTriggerCreate,
    TriggerCreate,
    TriggerFire,
    TriggerOut,
    TriggerUpdate,
    WebhookOut,
    WebhookSpec,
    WebhookTriggerCreate,
)
from flowmaestro.runtime.errors import AppendConflictError

if TYPE_CHECKING:
    from flowmaestro.gateway.services import Services

__all__ = [
    "HOOK_PATH",
    "create",
    "delete",
    "fire",
    "set_paused",
    "trigger_out",
    "trigger_out_with_fires",
    "triggers_out",
    "update",
]

HOOK_PATH = "/api/hooks"
"""Where webhook URLs live: `/api/hooks/<token>`."""

_NEXT_FIRES = 5


def _problem(field: str, message: str, code: str = "invalid") -> ValidationFailedError:
    return ValidationFailedError(message, [{"field": field, "code": code, "message": message}])


def _schedule_config(services: Services, spec: ScheduleSpec) -> dict[str, Any]:
    try:
        six = cron.normalise(spec.cron)
        cron.zone(spec.timezone)
        gap = cron.shortest_gap(six, spec.timezone, datetime.now(UTC))
    except cron.CronError as exc:
        raise _problem("schedule.cron", str(exc)) from None
    minimum = services.trigger_limits.min_trigger_interval_seconds
    if gap < minimum:
        raise _problem(
            "schedule.cron",
            f"the schedule fires {gap:g} s apart; the shortest interval allowed is {minimum:g} s"
            " (FLOWMAESTRO_MIN_TRIGGER_INTERVAL_SECONDS)",
            "over_limit",
        )
    return {"cron": spec.cron, "six": six, "timezone": spec.timezone, "missed": spec.missed}


def _webhook_config(services: Services, spec: WebhookSpec) -> dict[str, Any]:
    limits = services.trigger_limits
    if spec.mode == "sync" and spec.timeout_seconds > limits.webhook_wait_seconds:
        raise _problem(
            "webhook.timeout_seconds",
            f"a synchronous webhook waits at most {limits.webhook_wait_seconds:g} s"
            " (FLOWMAESTRO_MAX_WEBHOOK_WAIT_SECONDS)",
            "over_limit",
        )
    if spec.replay_window_seconds > limits.webhook_replay_window_seconds:
        raise _problem(
            "webhook.replay_window_seconds",
            f"the replay window is at most {limits.webhook_replay_window_seconds:g} s"
            " (FLOWMAESTRO_MAX_WEBHOOK_REPLAY_WINDOW_SECONDS)",
            "over_limit",
        )
    config = msgspec.to_builtins(spec)
    config.pop("secret", None)
    return config


def _event_config(owner_id: str, spec: EventSpec) -> dict[str, Any]:
    try:
        tenant_event_filter(owner_id, spec.subject)
    except ValueError:
        raise _problem(
            "event.subject", "a subject pattern is tokens, `*` and a last `>`, split by dots"
        ) from None
    return {"subject": spec.subject}


def _config(
    services: Services,
    owner_id: str,
    kind: str,
    schedule: ScheduleSpec | None,
    webhook: WebhookSpec | None,
    event: EventSpec | None,
) -> dict[str, Any]:
    given = {"schedule": schedule, "webhook": webhook, "event": event}
    for name, value in given.items():
        if value is not None and name != kind:
            raise ConflictError(f"a {kind} trigger takes no {name!r}", code="KIND_MISMATCH")
    if schedule is not None:
        return _schedule_config(services, schedule)
    if webhook is not None:
        return _webhook_config(services, webhook)
    assert event is not None
    return _event_config(owner_id, event)


def _schedule_effect(services: Services) -> Effect:
    js = services.nc.jetstream()

    async def effect(row: TriggerRow) -> None:
        if row.kind != "schedule":
            return
        if row.paused:
            await schedules.disarm(js, row.id)
            return
        try:
            await schedules.arm(js, row.id, row.config["six"], row.config["timezone"])
        except BadRequestError as exc:  # a pattern the server's cron does not take
            raise _problem(
                "schedule.cron", f"JetStream refuses the schedule: {exc.description}"
            ) from None

    return effect


async def create(
    services: Services, owner_id: str, body: TriggerCreate, actor: Actor
) -> TriggerOut:
    """A new trigger of one of the user's workflows; a schedule is armed at once."""
    await services.workflows.get(owner_id, body.workflow_id)  # 404 for another's
    secret = None
    if isinstance(body, ScheduleTriggerCreate):
        kind, config = "schedule", _schedule_config(services, body.schedule)
    elif isinstance(body, WebhookTriggerCreate):
        kind, config = "webhook", _webhook_config(services, body.webhook)
        secret = body.webhook.secret
    else:
        kind, config = "event", _event_config(owner_id, body.event)
    values = {
        "workflow_id": body.workflow_id,
        "name": body.name,
        "kind": kind,
        "inputs": body.inputs,
        "config": config,
        "paused": body.paused,
        "secret": secret,
    }
    row = await services.triggers.create(owner_id, values, actor, _schedule_effect(services))
    return trigger_out(row, [])


async def update(
    services: Services, owner_id: str, trigger_id: str, body: TriggerUpdate, actor: Actor
) -> TriggerOut:
    """Change a trigger; a changed schedule replaces the armed one."""

    def change(current: TriggerRow) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        if body.name is not None:
            changed["name"] = body.name
        if body.inputs is not None:
            changed["inputs"] = body.inputs
        if body.schedule or body.webhook or body.event:
            changed["config"] = _config(
                services, owner_id, current.kind, body.schedule, body.webhook, body.event
            )
        if body.webhook is not None and body.webhook.secret is not None:
            changed["secret"] = body.webhook.secret
        return changed

    row = await services.triggers.update(
        owner_id, trigger_id, change, "trigger.updated", actor, _schedule_effect(services)
    )
    return await trigger_out_with_fires(services, row)


async def set_paused(
    services: Services, owner_id: str, trigger_id: str, paused: bool, actor: Actor | None
) -> TriggerOut:
    """Pause (a schedule is stopped in JetStream) or resume (armed again) a trigger;
    without an `actor` (the platform pausing it) nothing is audited."""
    action = "trigger.paused" if paused else "trigger.resumed"
    row = await services.triggers.update(
        owner_id,
        trigger_id,
        lambda _current: {"paused": paused},
        action,
        actor,
        _schedule_effect(services),
    )
    return await trigger_out_with_fires(services, row)


async def delete(services: Services, owner_id: str, trigger_id: str, actor: Actor) -> None:
    """Remove a trigger; its schedule is stopped."""
    js = services.nc.jetstream()

    async def effect(row: TriggerRow) -> None:
        if row.kind == "schedule":
            await schedules.disarm(js, row.id)

    await services.triggers.delete(owner_id, trigger_id, actor, effect)


def _fire_out(f: FireRow) -> TriggerFire:
    return TriggerFire(
        fire_key=f.fire_key,
        outcome=f.outcome,  # type: ignore[arg-type]
        fired_at=f.fired_at,
        execution_id=f.execution_id,
        scheduled_at=f.scheduled_at,
        detail=f.detail,
    )


def trigger_out(row: TriggerRow, fires: list[FireRow], now: datetime | None = None) -> TriggerOut:
    """A trigger as answered: next fire times of an active schedule, the latest fires."""
    c = row.config
    out = TriggerOut(
        id=row.id,
        workflow_id=row.workflow_id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        inputs=row.inputs,
        paused=row.paused,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_fires=[_fire_out(f) for f in fires],
    )
    if row.kind == "schedule":
        out.schedule = ScheduleSpec(cron=c["cron"], timezone=c["timezone"], missed=c["missed"])
        if not row.paused:
            out.next_fires = cron.next_fires(
                c["six"], c["timezone"], _NEXT_FIRES, now or datetime.now(UTC)
            )
    elif row.kind == "webhook":
        out.webhook = WebhookOut(
            url=f"{HOOK_PATH}/{row.webhook_token}",
            mode=c["mode"],
            timeout_seconds=c["timeout_seconds"],
            signed=row.secret is not None,
            signature_header=c["signature_header"],
            timestamp_header=c["timestamp_header"],
            replay_window_seconds=c["replay_window_seconds"],
            headers=c["headers"],
        )
    else:
        out.event = EventOut(
            subject=c["subject"], filter=tenant_event_filter(row.owner_id, c["subject"])
        )
    return out


async def trigger_out_with_fires(services: Services, row: TriggerRow) -> TriggerOut:
    """One trigger as answered, with its latest fires."""
    fires = await services.triggers.last_fires([row.id])
    return trigger_out(row, fires.get(row.id, []))


async def triggers_out(services: Services, rows: list[TriggerRow]) -> list[TriggerOut]:
    """Triggers as answered, with their latest fires (one query for all)."""
    fires = await services.triggers.last_fires([r.id for r in rows])
    now = datetime.now(UTC)
    return [trigger_out(r, fires.get(r.id, []), now) for r in rows]


async def fire(
    services: Services,
    row: TriggerRow,
    inputs: dict[str, Any],
    fire_key: str,
    scheduled_at: datetime | None = None,
    detail: str | None = None,
) -> ExecutionStart | None:
    """Start the run of one fire of `row` with `inputs` over the trigger's own; None when
    this fire already started one (a repeat). Invalid inputs raise
    `ValidationFailedError`; a deleted workflow `NotFoundError`. Either way the fire is
    recorded (as `refused`)."""
    execution_id = trigger_execution_id(row.id, fire_key)
    ref = TriggerRef(trigger_id=row.id, kind=row.kind, fire_key=fire_key)  # type: ignore[arg-type]
    try:
        chosen = await services.workflows.to_run(row.owner_id, row.workflow_id, None)
        called = await called_definitions(services, row.owner_id, chosen)
        started = await start_execution(
            services.log,
            row.owner_id,
            chosen,
            {**row.inputs, **inputs},
            workflows=called,
            limits=services.settings.limits,
            execution_id=execution_id,
            trigger=ref,
        )
    except AppendConflictError:
        await services.triggers.record_fire(
            row.id, fire_key, "duplicate", execution_id, scheduled_at
        )
        return None
    except (ValidationFailedError, NotFoundError) as exc:
        await services.triggers.record_fire(
            row.id, fire_key, "refused", None, scheduled_at, exc.message[:500]
        )
        raise
    await services.triggers.record_fire(
        row.id, fire_key, "started", execution_id, scheduled_at, detail
    )
    return started
