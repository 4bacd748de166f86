"""The node cache: memoised results in a JetStream key-value bucket, shared by replicas."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from flowmaestro.events.names import CACHE_BUCKET
from flowmaestro.runtime.kv import LazyBucket

__all__ = ["CachedResult", "NodeCache"]


class CachedResult(msgspec.Struct, frozen=True, kw_only=True):
    """A memoised node result and when it stops being valid (epoch seconds)."""

    expires_at: float
    output: Any = None
    handles: list[str] | None = None
    vars: dict[str, Any] | None = None


class NodeCache:
    """Get and put memoised results by key (see `flowmaestro.events.decide.memo_key`)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._bucket = LazyBucket(js, CACHE_BUCKET, history=1)

    async def get(self, key: str) -> CachedResult | None:
        """The unexpired result stored under `key`, or None."""
        try:
            entry = await (await self._bucket()).get(key)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        result = msgspec.json.decode(entry.value, type=CachedResult)
        return result if result.expires_at > time.time() else None

    async def put(
        self,
        key: str,
        ttl_seconds: float,
        output: Any,
        handles: list[str] | None,
        variables: dict[str, Any] | None,
    ) -> None:
        """Remember a result for `ttl_seconds`; a failure to store is not the node's failure."""
        result = CachedResult(
            expires_at=time.time() + ttl_seconds, output=output, handles=handles, vars=variables
        )
        with contextlib.suppress(Exception):
            await (await self._bucket()).put(key, msgspec.json.encode(result))
