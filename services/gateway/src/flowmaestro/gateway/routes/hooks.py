"""`/api/hooks/:token`: webhook requests start runs (no bearer token: the URL is the
capability, and a signed webhook checks its HMAC signature)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec

from flowmaestro.events import ExecutionCompleted
from flowmaestro.gateway.deps import ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import ConflictError, NotFoundError, RateLimitedError
from flowmaestro.gateway.models import Envelope
from flowmaestro.gateway.openapi import errors
from flowmaestro.gateway.triggers import service, webhooks
from flowmaestro.gateway.triggers.models import HookAccepted
from flowmaestro.runtime import tail
from flowmaestro.runtime.ratelimit import RateLimit

__all__ = ["HookController"]


async def _outcome(services: ServicesDep, execution_id: str, wait_s: float) -> HookAccepted:
    """The run's status and outputs once it ends, or `pending` after `wait_s`."""
    try:
        async with asyncio.timeout(wait_s):
            async for _, event in tail(services.nc, execution_id):
                if isinstance(event, ExecutionCompleted):
                    return HookAccepted(
                        execution_id=execution_id, status="completed", outputs=event.outputs
                    )
                status = getattr(event, "status", None)
                if status in ("failed", "cancelled"):
                    return HookAccepted(execution_id=execution_id, status=status)
    except TimeoutError:
        pass
    return HookAccepted(execution_id=execution_id, status="pending")


class HookController(Controller):
    """Webhook URLs."""

    path = service.HOOK_PATH
    tags = ["webhooks"]

    @post(
        "/{token:str}",
        status_code=202,
        responses={
            200: ResponseSpec(
                data_container=Envelope[HookAccepted],
                description="A synchronous webhook's run ended in time: its outputs",
            ),
            **errors(400, 401, 404, 409, 413, 429, 503),
        },
    )
    async def hook(
        self, token: str, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> Response[Envelope[HookAccepted]]:
        """Start a run of the webhook's workflow: the body (JSON object or form) and the
        mapped headers are its inputs. 202 with the execution id; a synchronous webhook
        answers 200 with the outputs when the run ends within its timeout."""
        row = await services.triggers.by_token(token) if len(token) <= 100 else None
        if row is None:
            raise NotFoundError("no such webhook")
        if row.paused:
            raise ConflictError("the webhook is paused", code="TRIGGER_PAUSED")
        limits = services.trigger_limits
        _, delay = await services.rate_limiter.admit(
            f"trigger.{row.id}",
            RateLimit(requests=limits.webhook_requests, per_seconds=limits.webhook_window_seconds),
            0,
        )
        if delay > 0:
            raise RateLimitedError("too many requests to this webhook", delay)
        body = await webhooks.read_body(
            request.stream(), request.headers.get("content-length"), limits.webhook_body_bytes
        )
        headers = {k.lower(): v for k, v in request.headers.items()}
        secret = services.triggers.open_secret(row)
        signature = None
        if secret is not None:
            signature = webhooks.verify(secret, body, headers, row.config, time.time())
        inputs = webhooks.request_inputs(body, headers.get("content-type", ""), headers, row.config)
        key = webhooks.fire_key(signature, headers, uuid.uuid4().hex)
        started = await service.fire(services, row, inputs, key)
        if started is None:
            raise ConflictError("this request was already received", code="REPLAYED")
        if row.config.get("mode") == "sync":
            answer = await _outcome(services, started.execution_id, row.config["timeout_seconds"])
            if answer.status != "pending":
                return Response(ok(answer), status_code=200)
        return Response(
            ok(HookAccepted(execution_id=started.execution_id, status="pending")),
            status_code=202,
        )
