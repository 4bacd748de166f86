"""The gateway's collaborators, built once at start and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client

from flowmaestro.events import TriggerLimits
from flowmaestro.gateway.batches import BatchDriver
from flowmaestro.gateway.config import GatewaySettings
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.security import (
    LoginLimiter,
    RegistrationLimiter,
    TokenSigner,
    TrustedProxies,
)
from flowmaestro.gateway.store.audit import AuditStore
from flowmaestro.gateway.store.batches import BatchStore
from flowmaestro.gateway.store.drafts import DraftStore
from flowmaestro.gateway.store.executions import ExecutionStore
from flowmaestro.gateway.store.integrations import IntegrationStore
from flowmaestro.gateway.store.triggers import TriggerStore
from flowmaestro.gateway.store.users import UserStore
from flowmaestro.gateway.store.workflows import WorkflowStore
from flowmaestro.runtime import ExecutionLog
from flowmaestro.runtime.files import FileStore
from flowmaestro.runtime.ratelimit import RateLimiter
from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    """Stores, the execution log, the token signer and the login limiter."""

    settings: GatewaySettings
    nc: Client
    db: Database
    log: ExecutionLog
    files: FileStore
    users: UserStore
    workflows: WorkflowStore
    drafts: DraftStore
    executions: ExecutionStore
    integrations: IntegrationStore
    audit: AuditStore
    batches: BatchStore
    batch_driver: BatchDriver
    triggers: TriggerStore
    rate_limiter: RateLimiter
    signer: TokenSigner
    limiter: LoginLimiter
    registrations: RegistrationLimiter
    trusted_proxies: TrustedProxies

    @classmethod
    def build(cls, settings: GatewaySettings, nc: Client, db: Database) -> Services:
        """Wire everything from settings and open connections."""
        log = ExecutionLog(nc)
        batches = BatchStore(db)
        workflows = WorkflowStore(db)
        return cls(
            settings=settings,
            nc=nc,
            db=db,
            log=log,
            files=FileStore(nc.jetstream()),
            users=UserStore(db),
            workflows=workflows,
            drafts=DraftStore(db, workflows),
            executions=ExecutionStore(db),
            integrations=IntegrationStore(
                db, KeyRing.from_env(), IntegrationDirectory(nc.jetstream())
            ),
            audit=AuditStore(db),
            batches=batches,
            batch_driver=BatchDriver(batches, log, settings.batch_poll_s),
            triggers=TriggerStore(db, KeyRing.from_env()),
            rate_limiter=RateLimiter(nc.jetstream()),
            signer=TokenSigner(settings.jwt_secret, settings.token_ttl_s),
            limiter=LoginLimiter(
                settings.login_limit_per_email,
                settings.login_limit_per_address,
                settings.login_window_s,
            ),
            registrations=RegistrationLimiter(
                settings.register_limit_per_address,
                settings.register_limit,
                settings.register_window_s,
            ),
            trusted_proxies=TrustedProxies(settings.trusted_proxies),
        )

    @property
    def trigger_limits(self) -> TriggerLimits:
        """The operator's bounds on triggers."""
        return self.settings.trigger_limits
