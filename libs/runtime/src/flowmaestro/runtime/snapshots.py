"""Snapshots of folded execution states: a cache of a log's prefix, never its truth.

A snapshot is the fold of an execution's log up to a sequence (the state's `last_seq`);
the state is that snapshot folded with the log's events after that sequence (`read` with
`after_seq`), so an execution's history may grow without bound while its recovery reads
a bounded tail. One snapshot is kept per execution, under its id; a newer one replaces it.

Where: the `FM_SNAPSHOTS` object store bucket. A state grows with its log (a loop's
20,000 child results are 2.4 MB of msgpack, 0.3 MB compressed) and a key-value entry is
one message, capped at the server's `max_payload` (1 MiB); a subject per execution would
need the same chunking done by hand. The object store chunks a value of any size,
replaces it as one (the meta naming the new chunks is written after them, the old chunks
are purged after that) and drops what is older than the bucket's max age. Only the
scheduler's NATS identity may read or write it: a snapshot is trusted as the log is.

Versions: the envelope carries `SNAPSHOT_VERSION` and a fingerprint of the shape of
`ExecutionState` (a hash of its JSON schema, nested Structs included). A snapshot whose
version or shape differs, that does not decode, or that names another execution is
ignored (`SnapshotUnusableError`) and the state is folded from the whole log; it is
never decoded into a changed shape. Bump `SNAPSHOT_VERSION` when the fold's meaning
changes without its shape.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import zlib
from typing import Protocol

import msgspec
from nats.aio.client import Client
from nats.js.api import ObjectStoreConfig
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from flowmaestro.events.chain import ChainHead
from flowmaestro.events.names import SNAPSHOT_BUCKET
from flowmaestro.events.state import ExecutionState

__all__ = [
    "SNAPSHOT_TTL_S",
    "SNAPSHOT_VERSION",
    "STATE_SHAPE",
    "JetStreamSnapshotStore",
    "MemorySnapshotStore",
    "SnapshotStore",
    "SnapshotUnusableError",
    "decode_snapshot",
    "decode_snapshot_chain",
    "encode_snapshot",
    "snapshot_bucket_config",
]

SNAPSHOT_VERSION = 1
"""The envelope's and the fold's version; bump it when either changes meaning."""

SNAPSHOT_TTL_S = 30 * 24 * 3600
"""How long a snapshot not rewritten is kept: an execution idle longer (a long wait) is
folded from its whole log on its next event, then snapshotted again."""

STATE_SHAPE = hashlib.sha256(
    msgspec.json.encode(msgspec.json.schema(ExecutionState), order="sorted")
).hexdigest()[:16]
"""Fingerprint of `ExecutionState`'s shape: any change of a field or a nested type
changes it, so an older snapshot is ignored rather than misread."""

_TIMEOUT_S = 10.0


class _Envelope(msgspec.Struct, array_like=True, frozen=True):
    version: int
    shape: str
    execution_id: str
    seq: int
    state: bytes
    """The state as msgpack, compressed (zlib, level 1: ~8x smaller, ~7 ms per MB)."""
    chain: ChainHead | None = None
    """The log's hash chain through the snapshot (`events.chain`): it covers every
    message read, forged outcomes and records included, so it may reach past `seq`."""


_envelope_encoder = msgspec.msgpack.Encoder()
_envelope_decoder = msgspec.msgpack.Decoder(_Envelope)
_state_decoder = msgspec.msgpack.Decoder(ExecutionState)


class SnapshotUnusableError(ValueError):
    """A stored snapshot that must not be used (another version or shape, corrupt, or
    another execution's): fold the log instead."""


def encode_snapshot(state: ExecutionState, chain: ChainHead | None = None) -> bytes:
    """The snapshot of `state`, at its `last_seq`, with the log's chain through there."""
    packed = zlib.compress(_envelope_encoder.encode(state), 1)
    return _envelope_encoder.encode(
        _Envelope(SNAPSHOT_VERSION, STATE_SHAPE, state.execution_id, state.last_seq, packed, chain)
    )


def decode_snapshot(data: bytes, execution_id: str) -> ExecutionState:
    """The state stored in a snapshot of `execution_id`; `SnapshotUnusableError` when it
    may not be used."""
    return decode_snapshot_chain(data, execution_id)[0]


def decode_snapshot_chain(
    data: bytes, execution_id: str
) -> tuple[ExecutionState, ChainHead | None]:
    """The state and chain stored in a snapshot of `execution_id` (no chain: one written
    without it); `SnapshotUnusableError` when it may not be used."""
    try:
        envelope = _envelope_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotUnusableError(f"not a snapshot envelope: {exc}") from None
    if envelope.version != SNAPSHOT_VERSION or envelope.shape != STATE_SHAPE:
        raise SnapshotUnusableError(
            f"version {envelope.version}/{envelope.shape}, "
            f"this one reads {SNAPSHOT_VERSION}/{STATE_SHAPE}"
        )
    if envelope.execution_id != execution_id:
        raise SnapshotUnusableError(f"a snapshot of {envelope.execution_id}")
    collecting = gc.isenabled()
    gc.disable()  # a long loop's state is ~10^5 objects: collections halve decoding speed
    try:
        state = _state_decoder.decode(zlib.decompress(envelope.state))
    except (zlib.error, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotUnusableError(f"corrupt state: {exc}") from None
    finally:
        if collecting:
            gc.enable()
    if state.execution_id != execution_id or state.last_seq != envelope.seq:
        raise SnapshotUnusableError("the state does not match its envelope")
    chain = envelope.chain
    if chain is not None and chain.through < state.last_seq:
        chain = None  # a chain behind the state cannot be extended from the tail read
    return state, chain


class SnapshotStore(Protocol):
    """Where snapshots are kept: one per execution, the latest."""

    async def get(self, execution_id: str) -> bytes | None:
        """The stored snapshot, or None."""
        ...

    async def put(self, execution_id: str, data: bytes) -> None:
        """Store a snapshot, replacing the execution's previous one."""
        ...

    async def delete(self, execution_id: str) -> None:
        """Drop the execution's snapshot (none is fine)."""
        ...


def snapshot_bucket_config(replicas: int) -> ObjectStoreConfig:
    """The snapshot bucket: snapshots not rewritten for `SNAPSHOT_TTL_S` expire."""
    return ObjectStoreConfig(
        bucket=SNAPSHOT_BUCKET,
        description="folded execution states (a cache of each log's prefix)",
        ttl=SNAPSHOT_TTL_S,
        replicas=replicas,
    )


class JetStreamSnapshotStore:
    """Snapshots in the `FM_SNAPSHOTS` object store (created on first use if missing)."""

    def __init__(self, nc: Client, replicas: int = 1) -> None:
        self.js = nc.jetstream()
        self.replicas = replicas
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self.js.object_store(SNAPSHOT_BUCKET)
            except NotFoundError:
                config = snapshot_bucket_config(self.replicas)
                self._store = await self.js.create_object_store(SNAPSHOT_BUCKET, config)
        return self._store

    async def get(self, execution_id: str) -> bytes | None:
        """See `SnapshotStore.get` (bounded in time: chunks that expired before their
        meta would otherwise be awaited for ever)."""
        store = await self._bucket()
        try:
            async with asyncio.timeout(_TIMEOUT_S):
                return (await store.get(execution_id)).data or None
        except NotFoundError:
            return None

    async def put(self, execution_id: str, data: bytes) -> None:
        """See `SnapshotStore.put`."""
        store = await self._bucket()
        async with asyncio.timeout(_TIMEOUT_S):
            await store.put(execution_id, data)

    async def delete(self, execution_id: str) -> None:
        """See `SnapshotStore.delete`."""
        store = await self._bucket()
        try:
            await store.delete(execution_id)
        except NotFoundError:
            return


class MemorySnapshotStore:
    """Snapshots in this process's memory (the memory log's)."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.puts = 0

    async def get(self, execution_id: str) -> bytes | None:
        """See `SnapshotStore.get`."""
        return self.stored.get(execution_id)

    async def put(self, execution_id: str, data: bytes) -> None:
        """See `SnapshotStore.put`."""
        self.stored[execution_id] = data
        self.puts += 1

    async def delete(self, execution_id: str) -> None:
        """See `SnapshotStore.delete`."""
        self.stored.pop(execution_id, None)
