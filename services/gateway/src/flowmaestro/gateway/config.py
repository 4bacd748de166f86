"""Gateway settings, read from the environment with the defaults of a local stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from flowmaestro.events import Limits, TriggerLimits
from flowmaestro.events.limits import BatchLimits
from flowmaestro.events.names import PROJECTOR_CONSUMER
from flowmaestro.events.probes import MAX_PROBE_TIMEOUT_S
from flowmaestro.events.reuse import DEFAULT_REUSE_BYTES
from flowmaestro.gateway.errors import ConfigurationError
from flowmaestro.gateway.security import parse_networks
from flowmaestro.runtime.config import (
    batch_limits_from_env,
    node_limits_from_env,
    reuse_bytes_from_env,
    trigger_limits_from_env,
)
from flowmaestro.runtime.metrics import METRICS_HOST_ENV, metrics_port
from flowmaestro.runtime.secrets import KeyRing

__all__ = ["DEFAULT_JWT_SECRET", "DEV_USER_EMAIL", "DEV_USER_PASSWORD", "GatewaySettings"]

DEFAULT_JWT_SECRET = "flowmaestro-development-secret-change-me"
"""Signs tokens in development; production mode refuses to start with it."""

DEV_USER_EMAIL = "test@flowmaestro.dev"
DEV_USER_PASSWORD = "testpassword123"


def _default_ui_dir() -> Path:
    return Path.cwd() / "ui" / "dist"


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Everything the gateway needs; `from_env` documents each variable."""

    nats_url: str
    database_url: str
    jwt_secret: str = DEFAULT_JWT_SECRET
    token_ttl_s: int = 24 * 3600
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    ui_dir: Path = field(default_factory=_default_ui_dir)
    db_timeout_s: float = 3.0
    login_limit_per_email: int = 10
    login_limit_per_address: int = 50
    login_window_s: float = 60.0
    heartbeat_s: float = 15.0
    projector_name: str = PROJECTOR_CONSUMER
    register_limit_per_address: int = 10
    register_limit: int = 100
    register_window_s: float = 3600.0
    trusted_proxies: str = ""
    limits: Limits = field(default_factory=Limits)
    """Maxima of node size and time settings (`FLOWMAESTRO_MAX_*`), given to the validator."""
    batch_limits: BatchLimits = field(default_factory=BatchLimits)
    """Maxima of batches (`FLOWMAESTRO_MAX_BATCH_*`): concurrency, rows, body size."""
    batch_poll_s: float = 0.25
    """How often the batch driver looks for work it was not told of (another gateway's
    batch, rows whose executions ended)."""
    trigger_limits: TriggerLimits = field(default_factory=TriggerLimits)
    """Bounds on triggers: webhook bodies, waits, rates and replay windows, the shortest
    cron interval."""
    trigger_grace_s: float = 60.0
    """A schedule fire read later than this after its time is late (missed-run policy)."""
    reuse_bytes: int = DEFAULT_REUSE_BYTES
    """`FLOWMAESTRO_MAX_REUSE_BYTES`: how many bytes of an earlier execution's results a
    re-run, retry, replay, fork or node test carries in its first event (at most
    `REUSE_BYTES_CEILING`); results past it run again."""
    metrics_port: int | None = None
    """Where `/metrics` is served (`FLOWMAESTRO_METRICS_PORT`); None: not served."""
    metrics_host: str = "127.0.0.1"
    draft_bytes: int = 1024 * 1024
    """The largest draft (and compatibility candidate) kept, encoded as JSON
    (`FLOWMAESTRO_MAX_DRAFT_BYTES`, at most 25 MiB, the request body bound)."""
    draft_writes_per_minute: int = 120
    """Draft saves one user may make per minute (`FLOWMAESTRO_MAX_DRAFT_WRITES_PER_MINUTE`,
    at most 6,000); past it: 429."""
    probe_timeout_s: float = 10.0
    """How long an integration test or a model listing may take (at most 30 s)."""
    probe_rate_per_minute: int = 30
    """Connection tests and model listings one user may ask for per minute."""

    @property
    def production(self) -> bool:
        """True in production mode (`FLOWMAESTRO_ENV=production`)."""
        return self.environment == "production"

    def check(self) -> None:
        """Refuse settings that are unsafe in production: the development JWT secret and
        encryption key, and trusted proxies that are not addresses."""
        if self.production and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ConfigurationError(
                "FLOWMAESTRO_JWT_SECRET must be set to a private value in production"
            )
        if self.production and KeyRing.from_env().is_development:
            raise ConfigurationError(
                "FLOWMAESTRO_SECRET_KEYS must be set in production (the development key is public)"
            )
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigurationError(f"FLOWMAESTRO_TRUSTED_PROXIES: {exc}") from None
        if not 1 <= self.draft_bytes <= 25 * 1024 * 1024:
            raise ConfigurationError("FLOWMAESTRO_MAX_DRAFT_BYTES must be 1..26214400")
        if not 1 <= self.draft_writes_per_minute <= 6000:
            raise ConfigurationError("FLOWMAESTRO_MAX_DRAFT_WRITES_PER_MINUTE must be 1..6000")
        if len(self.jwt_secret) < 16:
            raise ConfigurationError("FLOWMAESTRO_JWT_SECRET must be at least 16 characters")

    @classmethod
    def from_env(cls, nats_url: str, database_url: str | None = None) -> GatewaySettings:
        """Settings with each field overridden by its `FLOWMAESTRO_*` variable when set."""
        env = os.environ
        d = cls(nats_url=nats_url, database_url="")
        url = database_url or env.get("FLOWMAESTRO_DATABASE_URL")
        if not url:
            raise ConfigurationError("no database: set FLOWMAESTRO_DATABASE_URL")
        return cls(
            nats_url=nats_url,
            database_url=url,
            jwt_secret=env.get("FLOWMAESTRO_JWT_SECRET", d.jwt_secret),
            token_ttl_s=int(env.get("FLOWMAESTRO_TOKEN_TTL_S", d.token_ttl_s)),
            environment=env.get("FLOWMAESTRO_ENV", d.environment),
            host=env.get("FLOWMAESTRO_GATEWAY_HOST", d.host),
            port=int(env.get("FLOWMAESTRO_GATEWAY_PORT", d.port)),
            ui_dir=Path(env["FLOWMAESTRO_UI_DIR"]) if env.get("FLOWMAESTRO_UI_DIR") else d.ui_dir,
            db_timeout_s=float(env.get("FLOWMAESTRO_DB_TIMEOUT_S", d.db_timeout_s)),
            login_limit_per_email=int(
                env.get("FLOWMAESTRO_LOGIN_LIMIT_PER_EMAIL", d.login_limit_per_email)
            ),
            login_limit_per_address=int(
                env.get("FLOWMAESTRO_LOGIN_LIMIT_PER_ADDRESS", d.login_limit_per_address)
            ),
            login_window_s=float(env.get("FLOWMAESTRO_LOGIN_WINDOW_S", d.login_window_s)),
            heartbeat_s=float(env.get("FLOWMAESTRO_SSE_HEARTBEAT_S", d.heartbeat_s)),
            projector_name=env.get("FLOWMAESTRO_PROJECTOR_CONSUMER", d.projector_name),
            register_limit_per_address=int(
                env.get("FLOWMAESTRO_REGISTER_LIMIT_PER_ADDRESS", d.register_limit_per_address)
            ),
            register_limit=int(env.get("FLOWMAESTRO_REGISTER_LIMIT", d.register_limit)),
            register_window_s=float(env.get("FLOWMAESTRO_REGISTER_WINDOW_S", d.register_window_s)),
            trusted_proxies=env.get("FLOWMAESTRO_TRUSTED_PROXIES", d.trusted_proxies),
            limits=node_limits_from_env(env),
            batch_limits=batch_limits_from_env(env),
            batch_poll_s=float(env.get("FLOWMAESTRO_BATCH_POLL_S", d.batch_poll_s)),
            trigger_limits=trigger_limits_from_env(env),
            trigger_grace_s=float(env.get("FLOWMAESTRO_TRIGGER_GRACE_S", d.trigger_grace_s)),
            reuse_bytes=reuse_bytes_from_env(env),
            metrics_port=metrics_port(env),
            metrics_host=env.get(METRICS_HOST_ENV, d.metrics_host),
            draft_bytes=int(env.get("FLOWMAESTRO_MAX_DRAFT_BYTES", d.draft_bytes)),
            draft_writes_per_minute=int(
                env.get("FLOWMAESTRO_MAX_DRAFT_WRITES_PER_MINUTE", d.draft_writes_per_minute)
            ),
            probe_timeout_s=min(
                float(env.get("FLOWMAESTRO_PROBE_TIMEOUT_S", d.probe_timeout_s)),
                MAX_PROBE_TIMEOUT_S,
            ),
            probe_rate_per_minute=int(
                env.get("FLOWMAESTRO_PROBE_RATE_PER_MINUTE", d.probe_rate_per_minute)
            ),
        )
