"""Key-value buckets opened on first use, and created when missing."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from flowmaestro.runtime.config import Settings

__all__ = ["LazyBucket"]


class LazyBucket:
    """`await bucket()` gives the bucket `name`, creating it with `config` the first time
    (with `FLOWMAESTRO_STREAM_REPLICAS` copies unless `config` says otherwise)."""

    def __init__(self, js: JetStreamContext, name: str, **config: Any) -> None:
        self.js = js
        self.name = name
        self.config = config
        self._kv: KeyValue | None = None

    async def __call__(self) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await self.js.key_value(self.name)
            except (BucketNotFoundError, NotFoundError):
                config = {"replicas": Settings.from_env().stream_replicas, **self.config}
                self._kv = await self.js.create_key_value(bucket=self.name, **config)
        return self._kv
