"""The small interface an executor sees: the command's data and a few capabilities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeFailed,
    NodeSpec,
    WorkflowDefinition,
)
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.files import OwnerFiles, UploadedFile

__all__ = [
    "Deferred",
    "Executor",
    "Integration",
    "NodeContext",
    "NodeResult",
    "OwnerFiles",
    "UploadedFile",
    "upstream_document",
]


@dataclass(frozen=True, slots=True)
class NodeResult:
    """A finished node: its output, the branch handles it took, variables it set."""

    output: Any = None
    handles: list[str] | None = None
    vars: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Integration:
    """An integration opened for one command: its config and decrypted credentials."""

    id: str
    type: str
    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Deferred:
    """The node's completion will arrive later (a durable timer, a person's answer).

    `request` tells watchers what is awaited (for a person: prompt and form).
    """

    until: datetime | None = None
    request: dict[str, Any] | None = None


async def _no_records() -> dict[str, Any]:
    return {}


async def _no_record(_key: str, _data: Any) -> None:
    return None


@dataclass(slots=True)
class _Records:
    record: Callable[[str, Any], Awaitable[None]] = _no_record
    recorded: Callable[[], Awaitable[dict[str, Any]]] = _no_records
    cache: dict[str, Any] | None = field(default=None)


RunWorkflow = Callable[[str, WorkflowDefinition, dict[str, Any], float], Awaitable[dict[str, Any]]]


class NodeContext:
    """One node attempt as its executor sees it."""

    def __init__(
        self,
        command: ExecuteNode,
        spec: NodeSpec,
        heartbeat: Callable[[], Awaitable[None]],
        stream: Callable[[str], Awaitable[None]],
        complete_at: Callable[[datetime, Event], Awaitable[None]],
        integration: Callable[[str], Awaitable[Integration]],
        *,
        record: Callable[[str, Any], Awaitable[None]] = _no_record,
        recorded: Callable[[], Awaitable[dict[str, Any]]] = _no_records,
        files: OwnerFiles | None = None,
        run_workflow: RunWorkflow | None = None,
    ) -> None:
        self.command = command
        self.spec = spec
        self._heartbeat = heartbeat
        self._stream = stream
        self._complete_at = complete_at
        self._integration = integration
        self._records = _Records(record, recorded)
        self._files = files
        self._run_workflow = run_workflow
        self.fire: NodeCompleted | NodeFailed | None = None
        """What the attempt's timer writes (`complete_at`/`fail_at`); it travels in the
        attempt's `node.waiting` and the scheduler arms it (executors write no timers)."""

    @property
    def execution_id(self) -> str:
        """The execution this attempt belongs to."""
        return self.command.execution_id

    @property
    def node_id(self) -> str:
        """The node being run."""
        return self.command.node_id

    @property
    def idempotency_key(self) -> str:
        """Stable across redeliveries of this attempt; pass it to far sides that accept one."""
        return self.command.idempotency_key

    async def integration(self, integration_id: str) -> Integration:
        """Open the named integration (config and credentials) for this command.

        Raises `TerminalNodeError` when it does not exist, is disabled, or belongs to
        someone other than the execution's owner.
        """
        return await self._integration(integration_id)

    async def file(self, file_id: str) -> UploadedFile:
        """Open an uploaded file by id, or a file this owner's nodes made, by name.

        Raises `TerminalNodeError` ("no file") when it does not exist or belongs to someone
        other than the execution's owner.
        """
        return await self.files.open(file_id)

    async def run_workflow(
        self, key: str, definition: WorkflowDefinition, inputs: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Run `definition` as a child execution and wait for it (at most `timeout` s).

        The child's id derives from this attempt and `key`, so a redelivered command
        resumes the same child instead of starting another. Answers `{ok, status, outputs,
        error, execution_id}`.
        """
        if self._run_workflow is None:
            raise TerminalNodeError("this executor cannot start workflows", kind="unsupported")
        return await self._run_workflow(key, definition, inputs, timeout)

    async def heartbeat(self) -> None:
        """Tell JetStream this attempt is alive (the runtime also does so periodically)."""
        await self._heartbeat()

    async def stream(self, chunk: str) -> None:
        """Send a live chunk (for example LLM tokens) to watchers; not durable."""
        await self._stream(chunk)

    async def record(self, key: str, data: Any) -> None:
        """Durably note a finished step of this attempt (`node.progress`), once per `key`.

        Use it for side effects that must not repeat when the command is delivered again,
        such as an agent's tool calls.
        """
        await self._records.record(key, data)
        if self._records.cache is not None:
            self._records.cache[key] = data

    async def recorded(self) -> dict[str, Any]:
        """This attempt's earlier records by key; empty unless the command ran before."""
        if self._records.cache is None:
            self._records.cache = dict(await self._records.recorded())
        return dict(self._records.cache)

    @property
    def files(self) -> OwnerFiles:
        """The owner's files; raises `TerminalNodeError` where the runtime offers none."""
        if self._files is None:
            raise TerminalNodeError("no file store in this runtime", kind="files")
        return self._files

    async def complete_at(
        self, at: datetime, output: Any, handles: list[str] | None = None
    ) -> None:
        """Arrange for this attempt to complete with `output` at `at`, durably."""
        event = NodeCompleted(
            node_id=self.node_id,
            attempt=self.command.attempt,
            completed_at=at,
            output=output,
            handles=handles,
        )
        self.fire = event
        await self._complete_at(at, event)

    async def fail_at(self, at: datetime, message: str, kind: str = "deadline") -> None:
        """Arrange for this attempt to fail (terminally) at `at`, durably."""
        error = ErrorInfo(message=message, kind=kind, terminal=True)
        event = NodeFailed(
            node_id=self.node_id, attempt=self.command.attempt, failed_at=at, error=error
        )
        self.fire = event
        await self._complete_at(at, event)


def upstream_document(ctx: NodeContext) -> Any:
    """What upstream nodes produced: the single output, or outputs by node id."""
    upstream = ctx.command.upstream
    if len(upstream) == 1:
        return next(iter(upstream.values()))
    return dict(upstream) if upstream else None


Executor = Callable[[NodeContext, Any], Awaitable[NodeResult | Deferred]]
"""Runs one node type; `config` is the node's data converted to its config Struct."""
