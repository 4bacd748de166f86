"""The Litestar application: routes, the envelope, OpenAPI at `/schema`, the projector,
and the built UI at `/` when present."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

from flowmaestro.gateway.bodies import strict_json_body
from flowmaestro.gateway.config import GatewaySettings
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.deps import provide_services
from flowmaestro.gateway.envelope import exception_handlers
from flowmaestro.gateway.errors import DatabaseUnavailableError
from flowmaestro.gateway.migrate import migrate
from flowmaestro.gateway.observe import observe_requests
from flowmaestro.gateway.openapi import openapi_config
from flowmaestro.gateway.projector import Projector, ensure_projector_consumer
from flowmaestro.gateway.routes.audit import AuditController
from flowmaestro.gateway.routes.auth import AuthController
from flowmaestro.gateway.routes.batches import BatchController, start_batch_route
from flowmaestro.gateway.routes.derived import DerivedRunController, NodeTestController
from flowmaestro.gateway.routes.drafts import DraftController
from flowmaestro.gateway.routes.events import publish_event
from flowmaestro.gateway.routes.executions import ExecutionController, InboxController
from flowmaestro.gateway.routes.files import FileController
from flowmaestro.gateway.routes.health import health, ready
from flowmaestro.gateway.routes.history import HistoryController
from flowmaestro.gateway.routes.hooks import HookController
from flowmaestro.gateway.routes.integrations import IntegrationController, ModelController
from flowmaestro.gateway.routes.nodes import NodeController
from flowmaestro.gateway.routes.triggers import TriggerController
from flowmaestro.gateway.routes.workflows import WorkflowController
from flowmaestro.gateway.routes.ws import live_socket
from flowmaestro.gateway.services import Services
from flowmaestro.gateway.triggers.consumers import ensure_trigger_consumers, run_trigger_consumers
from flowmaestro.runtime import connect, tracing
from flowmaestro.runtime.metrics import GatewayMetrics

__all__ = ["create_app"]

log = structlog.get_logger("flowmaestro.gateway")

_SHUTDOWN_GRACE_S = 5.0


_PROBE_S = 10.0
"""How often the gateway checks PostgreSQL for its `dependency_up` metric."""


def _lifespan(settings: GatewaySettings, run_projector: bool, metrics: GatewayMetrics) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tracing.configure_tracing("gateway")
        nc = await connect(settings.nats_url, name="flowmaestro-gateway")
        db = Database(settings.database_url, settings.db_timeout_s)
        await db.open()
        metrics.watch_nats(nc)
        if settings.metrics_port is not None:
            metrics.serve(settings.metrics_port, settings.metrics_host)

            async def probe_database() -> None:
                metrics.set_up("postgres", await db.ping())

            metrics.every(_PROBE_S, probe_database)
        try:
            await migrate(db)
        except DatabaseUnavailableError:
            log.warning("gateway.migrations_deferred", reason="database unavailable")
        services = app.state.services = Services.build(settings, nc, db)
        stop = asyncio.Event()
        try:
            # The background loops share one task group: at shutdown each gets a few
            # seconds to finish its step, then whatever is left is cancelled.
            async with anyio.create_task_group() as group:
                # every gateway drives batches; their steps on one batch take turns
                group.start_soon(services.batch_driver.run, stop)
                if run_projector:
                    # one projector, and one consumer of trigger fires, per read model
                    await ensure_projector_consumer(nc, settings.projector_name)
                    group.start_soon(Projector(nc, db, settings.projector_name).run, stop)
                    await ensure_trigger_consumers(nc, settings.projector_name)
                    group.start_soon(run_trigger_consumers, services, stop)
                try:
                    yield
                finally:
                    stop.set()
                    group.cancel_scope.deadline = anyio.current_time() + _SHUTDOWN_GRACE_S
        finally:
            metrics.close()
            await db.close()
            await nc.close()
            tracing.shutdown_tracing()

    return lifespan


async def _complete_allow_header(message: Message, scope: Scope) -> None:
    """Answer OPTIONS with every method of the path.

    Litestar's automatic OPTIONS handler lists only the methods of the first handler
    registered on a path (its closure keeps the route that existed then), so a path with
    GET and POST would say `Allow: GET, OPTIONS`."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    app = scope["litestar_app"]
    allowed = {
        route.path_format: ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }.get(scope.get("path_template", ""))
    if allowed is not None:
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
        message["headers"] = [*headers, (b"allow", allowed.encode())]


def create_app(settings: GatewaySettings, run_projector: bool = True) -> Litestar:
    """The gateway application; connections open when the server starts it."""
    settings.check()
    handlers: list[Any] = [
        AuthController,
        WorkflowController,
        DraftController,
        ExecutionController,
        DerivedRunController,
        NodeTestController,
        HistoryController,
        InboxController,
        FileController,
        IntegrationController,
        ModelController,
        NodeController,
        AuditController,
        BatchController,
        start_batch_route(settings.batch_limits),
        TriggerController,
        HookController,
        publish_event,
        health,
        ready,
        live_socket,
    ]
    state: dict[str, Any] = {}
    metrics = GatewayMetrics()
    if settings.ui_dir.is_dir():
        state["ui_index"] = settings.ui_dir / "index.html"
        handlers.append(
            create_static_files_router(
                path="/", directories=[settings.ui_dir], html_mode=True, name="ui"
            )
        )
    return Litestar(
        route_handlers=handlers,
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=exception_handlers,
        logging_config=None,  # keep the process's redacting logging setup
        before_send=[_complete_allow_header],
        before_request=strict_json_body,
        middleware=[observe_requests(metrics)],
        lifespan=[_lifespan(settings, run_projector, metrics)],
        openapi_config=openapi_config(),
        request_max_body_size=25 * 1024 * 1024,
        state=State(state),
    )
