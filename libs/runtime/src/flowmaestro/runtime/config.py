"""Runtime settings read from the environment, with the defaults of a local stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from flowmaestro.events import Limits, TriggerLimits
from flowmaestro.events.limits import BatchLimits
from flowmaestro.events.reuse import DEFAULT_REUSE_BYTES, REUSE_BYTES_CEILING

__all__ = [
    "MAX_EFFECT_ATTEMPTS",
    "MAX_EXECUTOR_CONCURRENCY",
    "Settings",
    "batch_limits_from_env",
    "node_limits_from_env",
    "reuse_bytes_from_env",
    "state_dir",
    "trigger_limits_from_env",
]

MAX_EFFECT_ATTEMPTS = 20
"""The operator's ceiling on `effect_attempts`."""

MAX_EXECUTOR_CONCURRENCY = 10_000
"""The ceiling on `executor_concurrency` (the consumers' own limit is higher)."""

LIMIT_PREFIX = "FLOWMAESTRO_MAX_"


def reuse_bytes_from_env(environ: Mapping[str, str] | None = None) -> int:
    """`FLOWMAESTRO_MAX_REUSE_BYTES`: how many bytes of an earlier execution's results a
    re-run, retry, replay, fork or node test carries, at most `REUSE_BYTES_CEILING`."""
    env = os.environ if environ is None else environ
    raw = env.get("FLOWMAESTRO_MAX_REUSE_BYTES", "").strip()
    try:
        value = int(raw) if raw else DEFAULT_REUSE_BYTES
    except ValueError as exc:
        raise ValueError(f"FLOWMAESTRO_MAX_REUSE_BYTES: {raw!r} is not a whole number") from exc
    return max(0, min(REUSE_BYTES_CEILING, value))


def node_limits_from_env(environ: Mapping[str, str] | None = None) -> Limits:
    """The operator's maxima: each `Limits` field from `FLOWMAESTRO_MAX_<FIELD>` when set."""
    env = os.environ if environ is None else environ
    given: dict[str, str] = {}
    for name in Limits.__struct_fields__:
        value = env.get(LIMIT_PREFIX + name.upper())
        if value is not None and value.strip():
            given[name] = value.strip()
    try:
        return msgspec.convert(given, Limits, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{LIMIT_PREFIX}*: {exc}") from exc


BATCH_LIMIT_PREFIX = "FLOWMAESTRO_MAX_BATCH_"


def batch_limits_from_env(environ: Mapping[str, str] | None = None) -> BatchLimits:
    """The operator's batch maxima: each `BatchLimits` field from
    `FLOWMAESTRO_MAX_BATCH_<FIELD>` when set."""
    env = os.environ if environ is None else environ
    given: dict[str, str] = {}
    for name in BatchLimits.__struct_fields__:
        value = env.get(BATCH_LIMIT_PREFIX + name.upper())
        if value is not None and value.strip():
            given[name] = value.strip()
    try:
        return msgspec.convert(given, BatchLimits, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{BATCH_LIMIT_PREFIX}*: {exc}") from exc


def trigger_limits_from_env(environ: Mapping[str, str] | None = None) -> TriggerLimits:
    """The operator's trigger bounds: `FLOWMAESTRO_MAX_<FIELD>` for each maximum,
    `FLOWMAESTRO_MIN_TRIGGER_INTERVAL_SECONDS` for the shortest cron interval."""
    env = os.environ if environ is None else environ
    given: dict[str, str] = {}
    for name in TriggerLimits.__struct_fields__:
        variable = (
            "FLOWMAESTRO_" + name.upper()
            if name.startswith("min_")
            else LIMIT_PREFIX + name.upper()
        )
        value = env.get(variable)
        if value is not None and value.strip():
            given[name] = value.strip()
    try:
        limits = msgspec.convert(given, TriggerLimits, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"trigger limits: {exc}") from exc
    if min(msgspec.structs.astuple(limits)) <= 0:
        raise ValueError("trigger limits must be positive")
    return limits


def state_dir() -> Path:
    """The state folder: `FLOWMAESTRO_HOME`, or `.flowmaestro/` in the current directory."""
    return Path(os.environ.get("FLOWMAESTRO_HOME") or Path.cwd() / ".flowmaestro").resolve()


@dataclass(frozen=True, slots=True)
class Settings:
    """Tunables shared by the services; every field has an environment variable."""

    duplicate_window_s: float = 3600.0
    """`FLOWMAESTRO_DEDUPE_WINDOW_S`: how long a repeated append id is recognised."""
    command_ack_wait_s: float = 30.0
    """`FLOWMAESTRO_ACK_WAIT_S`: redelivery delay of an unacknowledged command or event."""
    inline_output_limit: int = 256 * 1024
    """`FLOWMAESTRO_INLINE_OUTPUT_LIMIT`: outputs larger than this go to the object store."""
    max_deliveries: int = 5
    """`FLOWMAESTRO_MAX_DELIVERIES`: a command delivered more often fails its node."""
    effect_attempts: int = 5
    """`FLOWMAESTRO_EFFECT_ATTEMPTS`: how often the scheduler tries an append or command
    the server refuses before failing that execution (1 to `MAX_EFFECT_ATTEMPTS`)."""
    stream_replicas: int = 1
    """`FLOWMAESTRO_STREAM_REPLICAS`: copies JetStream keeps of each stream and bucket
    (1 on a single server; 3 on a cluster of three or more, so one server may fail)."""
    executor_concurrency: int = 1024
    """`FLOWMAESTRO_EXECUTOR_CONCURRENCY`: commands one executor process runs at once per
    node type (1 to `MAX_EXECUTOR_CONCURRENCY`); model calls mostly wait on the network,
    so a thousand streaming calls fit in one process."""
    snapshot_every: int = 1000
    """`FLOWMAESTRO_SNAPSHOT_EVERY`: the scheduler stores a snapshot of an execution's
    folded state every this many of its events (0: never), so a scheduler that does not
    hold it folds the snapshot and the events after it instead of the whole log."""

    @classmethod
    def from_env(cls) -> Settings:
        """Settings with each field overridden by its environment variable when set."""
        env = os.environ
        d = cls()
        return cls(
            duplicate_window_s=float(env.get("FLOWMAESTRO_DEDUPE_WINDOW_S", d.duplicate_window_s)),
            command_ack_wait_s=float(env.get("FLOWMAESTRO_ACK_WAIT_S", d.command_ack_wait_s)),
            inline_output_limit=int(
                env.get("FLOWMAESTRO_INLINE_OUTPUT_LIMIT", d.inline_output_limit)
            ),
            max_deliveries=int(env.get("FLOWMAESTRO_MAX_DELIVERIES", d.max_deliveries)),
            effect_attempts=min(
                MAX_EFFECT_ATTEMPTS,
                max(1, int(env.get("FLOWMAESTRO_EFFECT_ATTEMPTS", d.effect_attempts))),
            ),
            stream_replicas=_replicas(env.get("FLOWMAESTRO_STREAM_REPLICAS")),
            executor_concurrency=min(
                MAX_EXECUTOR_CONCURRENCY,
                max(
                    1,
                    int(env.get("FLOWMAESTRO_EXECUTOR_CONCURRENCY", d.executor_concurrency)),
                ),
            ),
            snapshot_every=max(0, int(env.get("FLOWMAESTRO_SNAPSHOT_EVERY", d.snapshot_every))),
        )


def _replicas(value: str | None) -> int:
    """JetStream keeps 1 to 5 copies; anything else is a configuration error, not a guess."""
    if value is None or not value.strip():
        return 1
    if not value.strip().isdigit() or not 1 <= int(value) <= 5:
        raise ValueError(f"FLOWMAESTRO_STREAM_REPLICAS must be 1 to 5, got {value!r}")
    return int(value)
