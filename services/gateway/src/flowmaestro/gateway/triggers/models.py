"""Request and response bodies of triggers and webhooks (msgspec Structs, in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flowmaestro.events.names import TriggerHeader
from flowmaestro.gateway.models import ExecutionStatusName, Id, Name, TriggerKind

__all__ = [
    "EventOut",
    "EventPublished",
    "EventSpec",
    "EventTriggerCreate",
    "FireOutcome",
    "HookAccepted",
    "MissedRunPolicy",
    "ScheduleSpec",
    "ScheduleTriggerCreate",
    "TriggerCreate",
    "TriggerFire",
    "TriggerList",
    "TriggerOut",
    "TriggerUpdate",
    "WebhookMode",
    "WebhookOut",
    "WebhookSpec",
    "WebhookTriggerCreate",
]

MissedRunPolicy = Literal["skip", "run_once"]
"""A fire that comes late (the platform was down at its time): `skip` it, or `run_once`
for all the fires missed together."""

WebhookMode = Literal["async", "sync"]
"""`async`: answer 202 with the execution id at once; `sync`: answer the outputs when the
run ends within `timeout_seconds` (202 otherwise)."""

FireOutcome = Literal["started", "skipped", "duplicate", "refused"]
"""What became of a fire: a run started, a late fire skipped, a repeat of a fire already
handled, or refused (invalid inputs, a paused or changed trigger)."""

_FIELD = r"[0-9A-Za-z*/,?#-]+"
_CRON = rf"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|{_FIELD}( {_FIELD}){{4,5}})$"
HeaderName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]


class ScheduleSpec(msgspec.Struct, kw_only=True):
    """A cron schedule: 5 fields (or 6, seconds first, or `@hourly`-style names), read in
    `timezone` (IANA)."""

    cron: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_CRON)]
    timezone: Annotated[
        str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")
    ] = "UTC"
    missed: MissedRunPolicy = "skip"


class WebhookSpec(msgspec.Struct, kw_only=True):
    """A webhook: how it answers, and how requests are checked (a `secret` turns on the
    HMAC-SHA256 signature check and the replay window)."""

    mode: WebhookMode = "async"
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    secret: Annotated[str, msgspec.Meta(min_length=16, max_length=500)] | None = None
    """Stored encrypted; never answered."""
    signature_header: HeaderName = TriggerHeader.SIGNATURE.value
    timestamp_header: HeaderName = TriggerHeader.TIMESTAMP.value
    replay_window_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300.0
    headers: dict[str, str] = {}
    """Request headers that become inputs: header name → input name."""


class EventSpec(msgspec.Struct, kw_only=True):
    """Messages on `subject` (tokens, `*`, a last `>`) inside the owner's event namespace."""

    subject: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$"
        ),
    ]


class _NewTrigger(msgspec.Struct, kw_only=True, tag_field="kind"):
    workflow_id: Id
    name: Name
    inputs: dict[str, Any] = {}
    paused: bool = False


class ScheduleTriggerCreate(_NewTrigger, kw_only=True, tag="schedule"):
    """A new cron schedule of a workflow."""

    schedule: ScheduleSpec


class WebhookTriggerCreate(_NewTrigger, kw_only=True, tag="webhook"):
    """A new webhook of a workflow (its URL is made for it)."""

    webhook: WebhookSpec = msgspec.field(default_factory=lambda: WebhookSpec())


class EventTriggerCreate(_NewTrigger, kw_only=True, tag="event"):
    """A new event trigger of a workflow."""

    event: EventSpec


TriggerCreate = ScheduleTriggerCreate | WebhookTriggerCreate | EventTriggerCreate
"""A new trigger: `kind` says which of `schedule`, `webhook`, `event` it carries."""


class TriggerUpdate(msgspec.Struct, kw_only=True):
    """Changes to a trigger; omitted fields keep their values (and an omitted webhook
    `secret` keeps the stored one). Only the spec of the trigger's own kind may be given
    (409 `KIND_MISMATCH` otherwise)."""

    name: Name | None = None
    inputs: dict[str, Any] | None = None
    schedule: ScheduleSpec | None = None
    webhook: WebhookSpec | None = None
    event: EventSpec | None = None


class WebhookOut(msgspec.Struct, kw_only=True):
    """A webhook as answered: its URL path, never its secret."""

    url: str
    mode: WebhookMode
    timeout_seconds: float
    signed: bool
    signature_header: str
    timestamp_header: str
    replay_window_seconds: float
    headers: dict[str, str]


class EventOut(msgspec.Struct, kw_only=True):
    """An event trigger: the pattern given and the full subject filter it stands for."""

    subject: str
    filter: str


class TriggerFire(msgspec.Struct, kw_only=True):
    """One fire of a trigger."""

    fire_key: str
    outcome: FireOutcome
    fired_at: datetime
    execution_id: str | None = None
    scheduled_at: datetime | None = None
    detail: str | None = None


class TriggerOut(msgspec.Struct, kw_only=True):
    """A trigger with its next fire times (schedules, unless paused) and latest fires."""

    id: str
    workflow_id: str
    name: str
    kind: TriggerKind
    inputs: dict[str, Any]
    paused: bool
    created_at: datetime
    updated_at: datetime
    schedule: ScheduleSpec | None = None
    webhook: WebhookOut | None = None
    event: EventOut | None = None
    next_fires: list[datetime] = []
    last_fires: list[TriggerFire] = []


class TriggerList(msgspec.Struct, kw_only=True):
    """One user's triggers."""

    triggers: list[TriggerOut]


class HookAccepted(msgspec.Struct, kw_only=True):
    """A webhook request started a run: its id, and its outputs when it ended in time."""

    execution_id: str
    status: ExecutionStatusName
    outputs: dict[str, Any] | None = None


class EventPublished(msgspec.Struct, kw_only=True):
    """An event a tenant published into its own namespace: the subject it was given
    (relative to the namespace), and its place in the events stream — the fire key
    (`event:<sequence>`) of the runs it starts."""

    subject: str
    sequence: int
