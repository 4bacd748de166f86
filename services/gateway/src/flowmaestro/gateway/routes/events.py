"""`/api/events/:subject`: a signed-in user publishes an event into their own namespace
(`fm.tenant.<user>.events.<subject>`), where their event triggers pick it up. The gateway
publishes it, so a tenant needs no NATS identity of its own and can reach no other
tenant's namespace: the namespace is the caller's, never part of the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from flowmaestro.events.names import (
    Header,
    TriggerHeader,
    tenant_event_msg_id,
    tenant_event_subject,
)
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser, ServicesDep, actor_of
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import RateLimitedError, ValidationFailedError
from flowmaestro.gateway.models import Envelope
from flowmaestro.gateway.openapi import BEARER, errors
from flowmaestro.gateway.store.audit import record_action
from flowmaestro.gateway.triggers import webhooks
from flowmaestro.gateway.triggers.models import EventPublished
from flowmaestro.runtime.ratelimit import RateLimit

__all__ = ["EVENT_SUBJECT_PATTERN", "PUBLISHED", "publish_event"]

PUBLISHED = "event.published"
"""The audit action of a user publishing an event (the resource id is its subject)."""

EVENT_SUBJECT_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
"""A subject inside one's namespace: dot-separated tokens, no wildcard."""


@dataclass
class _EventOperation(Operation):
    """The body is any JSON object: it becomes the inputs of the runs it starts."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The event: a JSON object (at most FLOWMAESTRO_MAX_EVENT_BODY_BYTES), "
            "the inputs of each run it starts",
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.OBJECT, additional_properties=True)
                )
            },
        )


def _event_object(body: bytes) -> None:
    """Refuse (400) a body that is not one JSON object."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        document = None
    if not isinstance(document, dict):
        raise ValidationFailedError(
            "the event must be a JSON object",
            [{"field": "body", "code": "type", "message": "expected a JSON object"}],
        )


@post(
    "/api/events/{subject:str}",
    status_code=202,
    operation_class=_EventOperation,
    responses=errors(400, 401, 413, 429, 503),
    dependencies=AUTHENTICATED,
    security=BEARER,
    tags=["triggers"],
)
async def publish_event(
    subject: Annotated[
        str,
        Parameter(
            pattern=EVENT_SUBJECT_PATTERN,
            max_length=200,
            description="The event's subject inside your namespace (tokens, no wildcard)",
        ),
    ],
    user: CurrentUser,
    services: ServicesDep,
    request: Request[Any, Any, Any],
    idempotency_key: Annotated[
        str | None,
        Parameter(
            header=TriggerHeader.IDEMPOTENCY_KEY,
            min_length=1,
            max_length=200,
            description="The same key again publishes nothing (the first event's sequence)",
        ),
    ] = None,
) -> Envelope[EventPublished]:
    """Publish an event into your own namespace: each of your event triggers whose
    pattern matches `subject` starts a run with the object as its inputs. With an
    `Idempotency-Key` header, the same key again publishes nothing and answers the first
    event's sequence. Recorded in the audit trail (`event.published`, the subject as the
    resource)."""
    try:
        full_subject = tenant_event_subject(user.user_id, subject)
    except ValueError as exc:
        raise ValidationFailedError(
            "the subject must be dot-separated tokens without wildcards",
            [{"field": "subject", "code": "pattern", "message": str(exc)}],
        ) from exc
    limits = services.trigger_limits
    _, delay = await services.rate_limiter.admit(
        f"events.{user.user_id}",
        RateLimit(requests=limits.event_requests, per_seconds=limits.event_window_seconds),
        0,
    )
    if delay > 0:
        raise RateLimitedError("too many events published", delay)
    body = await webhooks.read_body(
        request.stream(), request.headers.get("content-length"), limits.event_body_bytes, "event"
    )
    _event_object(body)
    headers: dict[str, Any] | None = None
    if idempotency_key:
        headers = {Header.MSG_ID: tenant_event_msg_id(user.user_id, idempotency_key)}
    # recorded in the same transaction that is open while it is published: an event the
    # database cannot record is not published (503), one that is published is recorded
    async with services.db.transaction() as conn:
        ack = await services.nc.jetstream().publish(full_subject, body, headers=headers)
        details: dict[str, Any] = {"sequence": ack.seq, "bytes": len(body)}
        if ack.duplicate:
            details["duplicate"] = True  # the same key again: nothing new was published
        actor = actor_of(request, user)
        await record_action(conn, user.user_id, actor, PUBLISHED, "event", subject, details)
    return ok(EventPublished(subject=subject, sequence=ack.seq))
