"""Large node outputs live in a JetStream object store; events and commands carry markers.

An executor stores an output over the inline limit and its `node.completed` names it; the
scheduler never loads it back: references to it resolve to markers (see
`flowmaestro.events.references.StoredOutput`), and the executor of a node that reads it
resolves the markers in its command (`resolve_stored_outputs`) just before running it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from flowmaestro.events import ExecuteNode
from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.names import (
    CONCAT_KEY,
    OUTPUT_BUCKET,
    execution_of_output,
    owner_scope,
)
from flowmaestro.events.references import StoredOutput, follow_path

__all__ = ["OutputStore", "StoredOutputError"]


class StoredOutputError(ReferenceResolutionError):
    """A stored-output marker names nothing this execution may read."""


class _Reader(msgspec.Struct, frozen=True):
    """Who reads: the execution, and the earlier executions of its owner it reuses."""

    execution_id: str
    reads: frozenset[str] = frozenset()
    owner_id: str | None = None


def _readable_by(name: str, reader: _Reader) -> bool:
    """An execution reads its own outputs and its ancestors' (child ids extend the
    parent's id), never another execution's: a marker written by hand into a node's
    config must not open another tenant's output. The exception: the outputs of the
    earlier executions its command names (`reads`, from the run's origin, which only the
    platform writes), and only under its own owner's scope."""
    owner = execution_of_output(name)
    execution_id = reader.execution_id
    if execution_id == owner or execution_id.startswith(owner + "-"):
        return True
    return owner in reader.reads and name.split("/", 1)[0] == owner_scope(reader.owner_id)


def _has_markers(value: Any) -> bool:
    if isinstance(value, Mapping):
        return (
            CONCAT_KEY in value
            or StoredOutput.from_marker(value) is not None
            or any(_has_markers(v) for v in value.values())
        )
    if isinstance(value, list):
        return any(_has_markers(v) for v in value)
    return False


class OutputStore:
    """Puts and gets node outputs by name (`<execution>/<node>/<attempt>`)."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            self._store = await self.js.object_store(OUTPUT_BUCKET)
        return self._store

    async def put(self, ref: str, encoded: bytes) -> str:
        """Store already-encoded JSON under `ref` and return the ref."""
        await (await self._bucket()).put(ref, encoded)
        return ref

    async def get(self, ref: str) -> Any:
        """The output stored under `ref`."""
        result = await (await self._bucket()).get(ref)
        return msgspec.json.decode(result.data or b"null")

    async def resolve_command(self, command: ExecuteNode) -> ExecuteNode:
        """`command` with every stored-output marker in its config, upstream outputs,
        inputs and variables replaced by the value it stands for (each object read once)."""
        parts = (command.config, command.upstream, command.inputs, command.vars)
        if not any(_has_markers(p) for p in parts):
            return command
        loaded: dict[str, Any] = {}
        reader = _Reader(command.execution_id, frozenset(command.reads or ()), command.owner_id)
        config, upstream, inputs, variables = [await self.resolve(p, reader, loaded) for p in parts]
        return msgspec.structs.replace(
            command, config=config, upstream=upstream, inputs=inputs, vars=variables
        )

    async def resolve(
        self, value: Any, reader: str | _Reader, loaded: dict[str, Any] | None = None
    ) -> Any:
        """`value` with its stored-output markers read, for a node of `reader` (an
        execution id, or the execution with the earlier ones it may read)."""
        loaded = {} if loaded is None else loaded
        if isinstance(reader, str):
            reader = _Reader(reader)
        if isinstance(value, list):
            return [await self.resolve(v, reader, loaded) for v in value]
        if not isinstance(value, Mapping):
            return value
        stored = StoredOutput.from_marker(value)
        if stored is not None:
            return follow_path(
                await self._load(stored.name, reader, loaded), stored.path, stored.name
            )
        if set(value) == {CONCAT_KEY} and isinstance(value[CONCAT_KEY], list):
            pieces = [await self.resolve(p, reader, loaded) for p in value[CONCAT_KEY]]
            return "".join(
                p if isinstance(p, str) else msgspec.json.encode(p).decode() for p in pieces
            )
        return {k: await self.resolve(v, reader, loaded) for k, v in value.items()}

    async def _load(self, name: str, reader: _Reader, loaded: dict[str, Any]) -> Any:
        if name not in loaded:
            if not _readable_by(name, reader):
                raise StoredOutputError(f"no stored output {name!r} for this execution")
            try:
                loaded[name] = await self.get(name)
            except NotFoundError as exc:
                raise StoredOutputError(f"no stored output {name!r}") from exc
        return loaded[name]
