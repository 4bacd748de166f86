"""Rate limits shared by every executor replica, kept in a JetStream key-value bucket.

A limit caps requests per interval (a fixed window counter) and concurrent calls (leases
that expire, so a crashed executor does not hold a slot forever). Updates use the bucket's
compare-and-set, so replicas never over-admit. Windows and lease expiries are reckoned on
the clock the limiter is given (wall-clock seconds by default), so tests can drive it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import (
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

from flowmaestro.events.names import LIMIT_BUCKET
from flowmaestro.runtime.kv import LazyBucket

__all__ = ["Clock", "Lease", "RateLimit", "RateLimiter", "limits_from_env"]

Clock = Callable[[], float]
"""Seconds since the epoch; every replica must read the same clock (wall time in service)."""

_CAS_TRIES = 20


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """At most `requests` per `per_seconds`, and at most `concurrency` at once (0: no cap)."""

    requests: int = 0
    per_seconds: float = 1.0
    concurrency: int = 0


def limits_from_env() -> dict[str, RateLimit]:
    """Node-type limits from `FLOWMAESTRO_RATE_LIMITS`, as in `llm=60/60:4,http=10/1`.

    Each entry is `type=REQUESTS/SECONDS[:CONCURRENCY]`; `type=:4` caps only concurrency.
    """
    limits: dict[str, RateLimit] = {}
    for entry in filter(
        None, (e.strip() for e in os.environ.get("FLOWMAESTRO_RATE_LIMITS", "").split(","))
    ):
        node_type, _, spec = entry.partition("=")
        rate, _, concurrency = spec.partition(":")
        requests, _, seconds = rate.partition("/")
        limits[node_type.strip()] = RateLimit(
            requests=int(requests or 0),
            per_seconds=float(seconds or 1),
            concurrency=int(concurrency or 0),
        )
    return limits


@dataclass(frozen=True, slots=True)
class Lease:
    """A held concurrency slot."""

    scope: str
    lease_id: str


class RateLimiter:
    """Admits or defers calls under shared limits, windows and leases timed by `clock`."""

    def __init__(self, js: JetStreamContext, clock: Clock = time.time) -> None:
        self._bucket = LazyBucket(js, LIMIT_BUCKET, history=1, ttl=86_400)
        self._clock = clock

    async def _update(self, key: str, change: Callable[[Any], tuple[Any, Any]]) -> Any:
        """Apply `change(current) -> (new value | None to keep, result)` with compare-and-set."""
        kv = await self._bucket()
        for _ in range(_CAS_TRIES):
            try:
                entry = await kv.get(key)
                current, revision = msgspec.json.decode(entry.value or b"null"), entry.revision
            except KeyNotFoundError:
                current, revision = None, None
            new, result = change(current)
            if new is None:
                return result
            try:
                if revision is None:
                    await kv.create(key, msgspec.json.encode(new))
                else:
                    await kv.update(key, msgspec.json.encode(new), last=revision)
                return result
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
        raise TimeoutError(f"rate limit {key} stayed contended")

    async def admit(
        self, scope: str, limit: RateLimit, lease_seconds: float
    ) -> tuple[Lease | None, float]:
        """Take a slot: `(lease, 0)` when admitted, `(None, delay)` to retry after `delay`."""
        now = self._clock()
        if limit.requests > 0:
            window = int(now // limit.per_seconds)
            key = f"{scope}.w{window}"

            def count(current: Any) -> tuple[Any, float]:
                used = current if isinstance(current, int) else 0
                if used >= limit.requests:
                    return None, (window + 1) * limit.per_seconds - now
                return used + 1, 0.0

            delay = float(await self._update(key, count))
            if delay > 0:
                return None, delay
        if limit.concurrency <= 0:
            return None, 0.0
        lease_id = uuid.uuid4().hex

        def hold(current: Any) -> tuple[Any, float]:
            leases = {k: v for k, v in (current or {}).items() if v > now}
            if len(leases) >= limit.concurrency:
                return None, 0.25
            return {**leases, lease_id: now + lease_seconds}, 0.0

        delay = float(await self._update(f"{scope}.c", hold))
        if delay > 0:
            return None, delay
        return Lease(scope=scope, lease_id=lease_id), 0.0

    async def release(self, lease: Lease) -> None:
        """Give a concurrency slot back."""

        def drop(current: Any) -> tuple[Any, None]:
            leases = dict(current or {})
            if lease.lease_id not in leases:
                return None, None
            leases.pop(lease.lease_id)
            return leases, None

        await self._update(f"{lease.scope}.c", drop)

    async def deferrals(self, key: str, add: int = 0) -> int:
        """How often the command `key` was deferred (incremented by `add`)."""

        def bump(current: Any) -> tuple[Any, int]:
            count = (current if isinstance(current, int) else 0) + add
            return (count if add else None), count

        return int(await self._update(f"defer.{key.replace(':', '.')}", bump))


def _is_conflict(exc: Exception) -> bool:
    return (
        isinstance(exc, KeyWrongLastSequenceError)
        or getattr(exc, "err_code", None) in (10071, 10164)
        or "wrong last sequence" in str(exc).lower()
    )
