"""The projector: a durable consumer on the execution stream that writes the read model.

Idempotent: each touched execution's row is recomputed from its log, log rows are keyed
by stream sequence, and the last applied sequence is recorded in the same transaction. A
row never goes back to an older state, so redeliveries in any order are harmless. While
PostgreSQL is down, messages stay unacknowledged and are applied when it returns.

Incremental: the states of running executions projected here are kept, within a budget
of their logs' stored bytes (`max_held_bytes`; the least recently projected go first, and
a log larger than the budget is never held), so a batch reads and folds only what their
logs gained since and writes only the new log rows; an execution not held (new here,
ended, evicted, or after a restart) is read and folded whole. The log stays the only
source: a state held here is never behind what it is extended with.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from datetime import datetime
from typing import NamedTuple

import structlog
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from flowmaestro.events import EventsError, ExecutionState, decode_event, fold
from flowmaestro.events.names import (
    EXEC_STREAM,
    PROJECTOR_CONSUMER,
    exec_wildcard,
    execution_of,
)
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.errors import DatabaseUnavailableError
from flowmaestro.gateway.projection import EXECUTION_COLUMNS, LOG_COLUMNS, execution_row, log_rows
from flowmaestro.runtime import ContinuousPull, ExecutionLog
from flowmaestro.runtime.wire import WireMsg

__all__ = ["Projector", "ensure_projector_consumer"]

log = structlog.get_logger("flowmaestro.projector")

_UPSERT_EXECUTION = (
    f"INSERT INTO executions ({', '.join(EXECUTION_COLUMNS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(EXECUTION_COLUMNS)))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in EXECUTION_COLUMNS[1:])
    + " WHERE executions.last_seq <= EXCLUDED.last_seq"
)
_INSERT_LOG = (
    f"INSERT INTO execution_logs ({', '.join(LOG_COLUMNS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(LOG_COLUMNS)))})"
    " ON CONFLICT (execution_id, seq) DO NOTHING"
)
_CHECKPOINT = (
    "INSERT INTO projector_checkpoints (name, last_seq) VALUES ($1, $2)"
    " ON CONFLICT (name) DO UPDATE"
    " SET last_seq = GREATEST(projector_checkpoints.last_seq, EXCLUDED.last_seq)"
)


async def ensure_projector_consumer(
    nc: Client, name: str = PROJECTOR_CONSUMER, ack_wait_s: float = 30.0
) -> None:
    """Create (or keep) a projector's durable consumer (one per read-model database)."""
    await nc.jetstream().add_consumer(
        EXEC_STREAM,
        ConsumerConfig(
            durable_name=name,
            filter_subject=exec_wildcard(),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait_s,
            max_ack_pending=20_000,
            max_deliver=-1,
        ),
    )


class _Held(NamedTuple):
    """A running execution's state as projected, the time of its last event, and the
    stored bytes of the log it was folded from (what the budget counts)."""

    state: ExecutionState
    last_time: datetime
    size: int


class Projector:
    """Applies execution logs to PostgreSQL."""

    def __init__(
        self,
        nc: Client,
        db: Database,
        name: str = PROJECTOR_CONSUMER,
        max_in_flight: int = 500,
        max_held_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.nc = nc
        self.name = name
        self.db = db
        self.log = ExecutionLog(nc)
        self.max_in_flight = max_in_flight
        self.max_held_bytes = max_held_bytes
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._held_bytes = 0

    async def project(self, executions: dict[str, int]) -> int:
        """Bring the rows of these executions up to their logs, each read through the
        sequence given (the last of its messages delivered here: a replica behind it is
        not read from); returns the last seq."""
        rows = []
        folded: dict[str, _Held] = {}
        for execution_id, through in executions.items():
            held = self._held.get(execution_id)
            after = held.state.last_seq if held else 0
            if held is not None and 0 < through <= after:
                continue  # projected through it already
            raw = await self.log.read_raw(execution_id, after, None, through)
            if not raw:
                continue
            try:
                records = [(seq, decode_event(data)) for seq, data in raw]
                state = fold(records, held.state if held else None)
            except EventsError as exc:
                log.error("projector.unfoldable", execution_id=execution_id, error=str(exc))
                continue
            logs = log_rows(execution_id, records, held.last_time if held else None)
            rows.append((execution_row(state), logs, records[-1][0]))
            size = (held.size if held else 0) + sum(len(data) for _, data in raw)
            folded[execution_id] = _Held(state, logs[-1].created_at, size)
        if not rows:
            return 0
        last_seq = max(seq for _, _, seq in rows)
        async with self.db.transaction() as conn:
            for execution, logs, _ in rows:
                await conn.execute(_UPSERT_EXECUTION, *execution)
                await conn.executemany(_INSERT_LOG, logs)
            await conn.execute(_CHECKPOINT, self.name, last_seq)
        self._hold(folded)  # only once written: a failed write is read again in full
        return last_seq

    def _hold(self, folded: dict[str, _Held]) -> None:
        for execution_id, held in folded.items():
            before = self._held.pop(execution_id, None)
            if before is not None:
                self._held_bytes -= before.size
            # an ended one is let go (late messages are rare: read whole then), and so is
            # one too large for the budget
            if held.state.status.terminal or held.size > self.max_held_bytes:
                continue
            self._held[execution_id] = held
            self._held_bytes += held.size
        while self._held_bytes > self.max_held_bytes:
            _, evicted = self._held.popitem(last=False)
            self._held_bytes -= evicted.size

    async def rebuild(self) -> int:
        """Drop the projection and recompute it from every log; returns executions written."""
        self._held.clear()
        self._held_bytes = 0
        async with self.db.transaction() as conn:
            await conn.execute("TRUNCATE executions, execution_logs")
            await conn.execute("DELETE FROM projector_checkpoints WHERE name = $1", self.name)
        ids = await self.log.execution_ids()
        for start in range(0, len(ids), 100):
            await self.project(dict.fromkeys(ids[start : start + 100], 0))
        return len(ids)

    async def checkpoint(self) -> int:
        """The last stream sequence applied (0 before the first)."""
        value = await self.db.fetchval(
            "SELECT last_seq FROM projector_checkpoints WHERE name = $1", self.name
        )
        return int(value or 0)

    async def _apply(self, batch: list[WireMsg], stop: asyncio.Event) -> None:
        ids: dict[str, int] = {}
        for msg in batch:
            execution_id = execution_of(msg.subject)
            ids[execution_id] = max(ids.get(execution_id, 0), msg.seq)
        delay = 0.25
        while not stop.is_set():
            try:
                await self.project(ids)
                return
            except DatabaseUnavailableError:
                log.warning("projector.database_unavailable", retry_in=delay)
            for msg in batch:  # keep them ours while we wait
                with contextlib.suppress(Exception):
                    await msg.in_progress()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 5.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Project until `stop` is set."""
        pull = ContinuousPull(self.nc, EXEC_STREAM, self.name, self.max_in_flight)
        await pull.start()
        try:
            while not stop.is_set():
                waiter = asyncio.ensure_future(pull.next_batch())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not waiter.done():
                    waiter.cancel()
                    break
                batch = waiter.result()
                try:
                    await self._apply(batch, stop)
                except Exception:
                    log.exception("projector.failed_batch")
                    await asyncio.sleep(1.0)
                    await pull.done(len(batch))
                    continue
                if stop.is_set():
                    break
                for msg in batch:
                    with contextlib.suppress(Exception):
                        await msg.ack()
                await pull.done(len(batch))
        finally:
            await pull.stop()
