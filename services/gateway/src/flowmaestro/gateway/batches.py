"""Batches: accepting one (rows checked against the workflow's inputs), driving it (rows
started under the concurrency cap, cancels passed on), and writing its results.

Why it is durable: PostgreSQL holds the plan (every row, claimed or not) and each row's
execution id is made from the batch id and the row number. The driver claims rows under
the batch's row lock and commits before it appends, then appends `execution.started` with
that id: the log accepts one first event per execution (`Nats-Msg-Id` plus an expected
subject sequence of 0), so appending again after any crash is a no-op, and the row is
marked `published` only afterwards. A gateway killed at any point leaves claimed rows that
the next step (of any gateway) appends again; a scheduler or executor killed mid-way is the
engine's own recovery. A row's outcome is its execution's one terminal event, as
projected, so every row ends exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats.errors
import structlog

from flowmaestro.events import (
    Actor,
    DefinitionError,
    ExecutionCancelRequested,
    ExecutionStarted,
    Limits,
    WorkflowDefinition,
    parse_definition,
)
from flowmaestro.events.batches import BatchInputError, check_rows, parse_csv
from flowmaestro.events.limits import BatchLimits
from flowmaestro.events.names import batch_execution_id, control_key
from flowmaestro.gateway.errors import GatewayError, TooLargeError, ValidationFailedError
from flowmaestro.gateway.models import BatchRowOut, VersionOut
from flowmaestro.gateway.store.batches import BatchPlan, BatchStore, NewBatch
from flowmaestro.runtime import ExecutionLog, new_execution_id
from flowmaestro.runtime.errors import AppendConflictError, RuntimeLayerError

__all__ = [
    "BATCH_CANCEL_REASON",
    "BatchDriver",
    "check_concurrency",
    "csv_lines",
    "jsonl_lines",
    "new_batch",
    "parse_batch_definition",
    "rows_from_csv",
    "rows_from_json",
]

log = structlog.get_logger("flowmaestro.batches")

BATCH_CANCEL_REASON = "the batch was cancelled"


def parse_batch_definition(version: VersionOut, limits: Limits) -> WorkflowDefinition:
    """The version's definition, checked (a stored one is valid unless limits changed)."""
    try:
        return parse_definition(version.definition, limits)
    except DefinitionError as exc:
        raise ValidationFailedError.from_problems(
            "the stored workflow is invalid", exc.problems
        ) from exc


def check_concurrency(requested: int | None, limits: BatchLimits) -> int:
    """The batch's concurrency: as asked, or the operator's maximum; over it is refused."""
    if requested is None:
        return limits.concurrency
    if requested > limits.concurrency:
        raise ValidationFailedError(
            f"concurrency {requested} is above the maximum {limits.concurrency} "
            "(FLOWMAESTRO_MAX_BATCH_CONCURRENCY)",
            [{"field": "concurrency", "code": "over_limit", "message": "above the maximum"}],
        )
    return requested


def _refused(message: str, exc: BatchInputError) -> ValidationFailedError:
    return ValidationFailedError.from_problems(message, exc.problems)


def rows_from_csv(
    body: bytes, definition: WorkflowDefinition, limits: BatchLimits
) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and checked rows of a CSV upload (UTF-8, header row = input names)."""
    if len(body) > limits.body_bytes:
        raise TooLargeError(
            f"the CSV is {len(body)} bytes, above the maximum {limits.body_bytes} "
            "(FLOWMAESTRO_MAX_BATCH_BODY_BYTES)",
            len(body),
            limits.body_bytes,
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailedError(
            "the CSV is not UTF-8 text",
            [{"field": "csv", "code": "malformed", "message": str(exc)}],
        ) from None
    if "\x00" in text:
        raise ValidationFailedError(
            "the CSV holds a NUL character",
            [{"field": "csv", "code": "malformed", "message": "NUL character"}],
        )
    try:
        header, rows = parse_csv(text, definition, limits.rows)
    except BatchInputError as exc:
        raise _refused("the CSV cannot be run", exc) from exc
    if not rows:
        raise ValidationFailedError(
            "the CSV has no data rows",
            [{"field": "csv", "code": "empty", "message": "no rows under the header"}],
        )
    return header, rows


def rows_from_json(
    inputs: list[dict[str, Any]], definition: WorkflowDefinition, limits: BatchLimits
) -> tuple[list[str], list[dict[str, Any]]]:
    """The input names (in first-seen order) and checked rows of a JSON batch."""
    if len(inputs) > limits.rows:
        raise ValidationFailedError(
            f"the batch has {len(inputs)} rows, above the maximum {limits.rows} "
            "(FLOWMAESTRO_MAX_BATCH_ROWS)",
            [{"field": "inputs", "code": "too_many_rows", "message": "too many rows"}],
        )
    try:
        rows = check_rows(definition, inputs)
    except BatchInputError as exc:
        raise _refused("the inputs cannot be run", exc) from exc
    columns = list(dict.fromkeys(name for row in inputs for name in row))
    return columns, rows


def new_batch(
    owner_id: str,
    version: VersionOut,
    workflows: dict[str, WorkflowDefinition],
    columns: list[str],
    rows: list[dict[str, Any]],
    concurrency: int,
    actor: Actor,
) -> NewBatch:
    """A batch ready to record: a new id and each row's execution id."""
    batch_id = new_execution_id()
    return NewBatch(
        batch_id=batch_id,
        owner_id=owner_id,
        workflow_id=version.workflow_id,
        workflow_version=version.version,
        definition=version.definition,
        workflows=msgspec.to_builtins(workflows),
        columns=columns,
        concurrency=concurrency,
        rows=rows,
        execution_ids=[batch_execution_id(batch_id, i) for i in range(len(rows))],
        actor=actor,
        created_at=datetime.now(UTC),
    )


class BatchDriver:
    """Steps every active batch: start rows, pass on cancels, end it. Any number of
    gateways may run one; the batch's row lock makes their steps take turns."""

    def __init__(self, store: BatchStore, log_: ExecutionLog, poll_s: float = 0.25) -> None:
        self.store = store
        self.log = log_
        self.poll_s = poll_s
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Step until `stop` is set; outages are waited out."""
        pause = self.poll_s
        while not stop.is_set():
            try:
                for batch_id in await self.store.active_ids():
                    if stop.is_set():
                        break
                    await self.step(batch_id)
                pause = self.poll_s
            except (GatewayError, RuntimeLayerError, nats.errors.Error, TimeoutError) as exc:
                log.warning("batches.step_deferred", error=repr(exc), retry_in=pause)
                pause = min(pause * 2, 5.0)  # an outage: look less often until it ends
            except Exception:
                log.exception("batches.step_failed")
                pause = min(pause * 2, 5.0)
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def step(self, batch_id: str) -> bool:
        """One step of one batch; True when it has ended."""
        plan = await self.store.plan(batch_id)
        if plan is None:
            return True
        if plan.start:
            await self._start(plan)
        if plan.cancel:
            await self._cancel(plan)
        if plan.ended:
            log.info("batches.ended", batch_id=batch_id)
        return plan.ended

    async def _start(self, plan: BatchPlan) -> None:
        parsed = msgspec.convert(plan.definition, WorkflowDefinition)
        workflows = msgspec.convert(plan.workflows, dict[str, WorkflowDefinition])

        async def start(
            row_index: int, execution_id: str, inputs: dict[str, Any], at: datetime
        ) -> int:
            started = ExecutionStarted(
                execution_id=execution_id,
                workflow_id=plan.workflow_id,
                workflow_version=plan.workflow_version,
                definition=parsed,
                inputs=inputs,
                started_at=at,
                owner_id=plan.owner_id,
                workflows=workflows,
                actor=plan.actor,
                batch_id=plan.batch_id,
            )
            # the same id (and, from the row's recorded time, the same event): a start made
            # before a crash makes this a no-op
            with contextlib.suppress(AppendConflictError):
                await self.log.start(started)
            return row_index

        done = await asyncio.gather(
            *(start(r.row_index, r.execution_id, r.inputs, r.started_at) for r in plan.start),
            return_exceptions=True,
        )
        published = [i for i in done if isinstance(i, int)]
        if published:
            await self.store.mark_published(plan.batch_id, published)
        failed = [e for e in done if isinstance(e, BaseException)]
        if failed:
            raise failed[0]

    async def _cancel(self, plan: BatchPlan) -> None:
        now = datetime.now(UTC)

        async def cancel(row_index: int, execution_id: str) -> int:
            _, ended = await self.log.ending(execution_id)
            if ended is None:
                request = ExecutionCancelRequested(
                    requested_at=now,
                    reason=BATCH_CANCEL_REASON,
                    actor=plan.cancel_actor or plan.actor,
                )
                await self.log.append(execution_id, request, control_key(execution_id, "cancel"))
            return row_index

        done = await asyncio.gather(
            *(cancel(r.row_index, r.execution_id) for r in plan.cancel), return_exceptions=True
        )
        sent = [i for i in done if isinstance(i, int)]
        if sent:
            await self.store.mark_cancel_sent(plan.batch_id, sent)
        failed = [e for e in done if isinstance(e, BaseException)]
        if failed:
            raise failed[0]


def _error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    return str(error.get("message", "")) or msgspec.json.encode(error).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


async def jsonl_lines(chunks: AsyncIterator[list[BatchRowOut]]) -> AsyncIterator[bytes]:
    """One JSON object per row: row, execution_id, status, inputs, outputs, error."""
    async for rows in chunks:
        yield b"".join(msgspec.json.encode(row) + b"\n" for row in rows)


class _Line:
    """A file-like target for `csv.writer` that hands back what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode()
        self.parts.clear()
        return data


def _csv_records(columns: list[str], rows: Iterable[BatchRowOut]) -> Iterable[list[str]]:
    for row in rows:
        yield [
            str(row.row),
            row.execution_id,
            row.status,
            *(_cell(row.inputs.get(name)) for name in columns),
            _cell(row.outputs) if row.outputs is not None else "",
            _error_text(row.error),
        ]


async def csv_lines(
    columns: list[str], chunks: AsyncIterator[list[BatchRowOut]]
) -> AsyncIterator[bytes]:
    """A CSV: row, execution_id, status, one column per input, outputs (JSON), error."""
    target = _Line()
    writer = csv.writer(target, lineterminator="\n")
    fixed = {"row", "execution_id", "status", "outputs", "error"}
    names = [f"input.{name}" if name in fixed else name for name in columns]
    writer.writerow(["row", "execution_id", "status", *names, "outputs", "error"])
    yield target.take()
    async for rows in chunks:
        writer.writerows(_csv_records(columns, rows))
        yield target.take()
