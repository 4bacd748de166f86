"""What a node attempt may reach, bound to its command: the factory of `NodeContext`s.

Every capability is scoped to the command's execution and owner: integrations and files
of the owner only, records of this attempt only, live chunks and timers of this node.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client

from flowmaestro.events import Event, ExecuteNode, NodeProgress, NodeSpec
from flowmaestro.events.names import live_subject, record_key
from flowmaestro.executors.children import ChildWorkflows
from flowmaestro.executors.context import Integration, NodeContext
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.files import OwnerFiles
from flowmaestro.runtime import ExecutionLog
from flowmaestro.runtime.files import FileStore
from flowmaestro.runtime.secrets import (
    IntegrationDirectory,
    IntegrationRecord,
    KeyRing,
    SecretError,
)
from flowmaestro.runtime.wire import WireMsg

__all__ = ["Capabilities", "open_integration"]


def open_integration(record: IntegrationRecord, keys: KeyRing) -> Integration:
    """An integration record with its credentials opened (a node's or a probe's view)."""
    try:
        credentials = keys.open(record.credentials, record.id) if record.credentials else {}
    except SecretError as exc:
        raise TerminalNodeError(f"integration {record.name!r}: {exc}", kind="integration") from exc
    return Integration(
        id=record.id,
        type=record.type,
        name=record.name,
        config=dict(record.config),
        credentials=dict(credentials),
    )


class Capabilities:
    """Builds the context of each node attempt from the worker's shared clients."""

    def __init__(
        self,
        nc: Client,
        log: ExecutionLog,
        integrations: IntegrationDirectory,
        keys: KeyRing,
    ) -> None:
        self._nc = nc
        self._log = log
        self._integrations = integrations
        self._keys = keys
        self._file_store = FileStore(nc.jetstream())
        self._children = ChildWorkflows(nc, log)

    def context(self, command: ExecuteNode, spec: NodeSpec, msg: WireMsg) -> NodeContext:
        """The context one attempt of `command` runs with."""
        return NodeContext(
            command,
            spec,
            heartbeat=msg.in_progress,
            stream=lambda chunk: self._stream(command, chunk),
            complete_at=lambda at, event: self._complete_at(command, at, event),
            integration=lambda integration_id: self.integration(command, integration_id),
            record=lambda key, data: self._record(command, key, data),
            recorded=lambda: self._recorded(command),
            files=OwnerFiles(self._file_store, command.owner_id),
            run_workflow=lambda key, definition, inputs, timeout: self._children.run(
                command, key, definition, inputs, timeout
            ),
        )

    async def integration(self, command: ExecuteNode, integration_id: str) -> Integration:
        """The owner's integration, opened; "no integration" for anyone else's."""
        record = await self._integrations.get(integration_id)
        if record is None or (command.owner_id is not None and record.owner_id != command.owner_id):
            raise TerminalNodeError(f"no integration {integration_id!r}", kind="integration")
        if not record.enabled:
            raise TerminalNodeError(f"integration {record.name!r} is disabled", kind="integration")
        return open_integration(record, self._keys)

    async def _stream(self, command: ExecuteNode, chunk: str) -> None:
        await self._nc.publish(live_subject(command.execution_id, command.node_id), chunk.encode())

    async def _record(self, command: ExecuteNode, key: str, data: Any) -> None:
        event = NodeProgress(
            node_id=command.node_id,
            attempt=command.attempt,
            key=key,
            data=data,
            recorded_at=datetime.now(UTC),
        )
        await self._log.append(
            command.execution_id, event, record_key(command.idempotency_key, key)
        )

    async def _recorded(self, command: ExecuteNode) -> dict[str, Any]:
        return {
            event.key: event.data
            for _, event in await self._log.read(command.execution_id)
            if isinstance(event, NodeProgress)
            and event.node_id == command.node_id
            and event.attempt == command.attempt
        }

    async def _complete_at(self, command: ExecuteNode, at: datetime, event: Event) -> None:
        """Nothing to do here: the timer's event travels in the attempt's `node.waiting`,
        and the scheduler arms it (the executors' NATS identity may write no timer)."""
