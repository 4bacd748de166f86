"""The scheduler's snapshots: an execution it does not hold is folded from its latest
snapshot and the log after it, and one it holds gets a new snapshot every
`Settings.snapshot_every` of its events (see `flowmaestro.runtime.snapshots`).

A snapshot is exactly the fold of the log's prefix as `read` returns it (events,
outcomes and the scheduler's own dispatch records), so recovering from one equals a full
fold. The states the scheduler holds are not that: its consumer leaves out the dispatch
records (it knows what it sent). So a snapshot is never taken of a held state: it is the
previous snapshot (kept in memory for the most recent executions, else read back)
folded with the log read after it. That runs beside the batches, never in their way, at
most once per execution at a time; it costs a read of N events per N events, for long
executions only. Encoding and decoding run in a worker thread (a 50,000-item loop's
state takes ~0.1 s to encode and compress; its states are never changed once made, so
sharing them is safe). A snapshot that cannot be written is only a slower recovery later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

import structlog

from flowmaestro.events import Event, ExecutionState, decode_event, fold
from flowmaestro.events.chain import ChainHead, genesis, message_digest
from flowmaestro.events.events import admissible_outcome
from flowmaestro.runtime.eventlog import SchedulerLog
from flowmaestro.runtime.snapshots import (
    SnapshotUnusableError,
    decode_snapshot_chain,
    encode_snapshot,
)

__all__ = ["Snapshots"]

log = structlog.get_logger("flowmaestro.scheduler")

_KEEP = 16
"""Snapshot states kept in memory (the bases of the next snapshots), most recently used
last: a 50,000-item loop's state is tens of MB of objects. One not kept is read back."""


class Snapshots:
    """Loads states from snapshot + tail, and writes snapshots of long executions."""

    def __init__(self, log: SchedulerLog, every: int, keep: int = _KEEP) -> None:
        """`every`: events of an execution between two snapshots (0: none, whole logs)."""
        self.log = log
        self.every = every
        self.keep = keep
        self.written = 0
        self._bases: OrderedDict[str, _Base] = OrderedDict()
        self._due: dict[str, int] = {}
        self._saved: dict[str, int] = {}
        """The sequence of each execution's stored snapshot (as far as this one knows)."""
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def load(
        self, execution_id: str, through: int = 0
    ) -> tuple[ExecutionState, ChainHead] | None:
        """The execution's state folded from its whole log (up to its message `through`
        at least, see `EventLog.read`), from the latest snapshot (in memory or stored)
        and the events after it, with the log's hash chain over everything read; None
        when there is no log."""
        if not self.every:
            return await self._tail(execution_id, None, through)
        base = self._bases.get(execution_id) or await self._read(execution_id)
        loaded = await self._tail(execution_id, base, through)
        if loaded is not None:
            state = loaded[0]
            self._due[execution_id] = (base[0].event_count if base else 0) + self.every
            if base is not None or state.event_count >= self.every:
                self._remember(execution_id, loaded)
        return loaded

    async def _tail(
        self, execution_id: str, base: _Base | None, through: int = 0
    ) -> tuple[ExecutionState, ChainHead] | None:
        """`base` (a snapshot's state and chain) folded and chained with the log after it."""
        chain = base[1] if base else genesis(execution_id)
        after = base[0].last_seq if base else 0
        entries = await self.log.read_log(execution_id, min(after, chain.through), through)
        events: list[tuple[int, Event]] = []
        for entry in entries:
            if entry.seq > chain.through:
                chain = chain.extend(entry.seq, message_digest(entry.kind, entry.data))
            if entry.seq > after:
                event = decode_event(entry.data)
                if entry.kind != "x" or admissible_outcome(event):  # forgeries: not folded
                    events.append((entry.seq, event))
        state = _fold(events, base[0] if base else None)
        return None if state is None else (state, chain)

    def observe(self, execution_id: str, held: ExecutionState) -> None:
        """The scheduler holds `held` now: start a snapshot when one is due."""
        if (
            not self.every
            or held.status.terminal
            or held.event_count < self._due.get(execution_id, self.every)
            or execution_id in self._tasks
        ):
            return
        self._due[execution_id] = held.event_count + self.every
        self._start(execution_id, self._write(execution_id))

    def forget(self, execution_id: str, finished: bool) -> None:
        """The scheduler let the execution go; a finished one's snapshot is deleted (one
        this scheduler no longer remembers expires with the bucket's max age)."""
        self._due.pop(execution_id, None)
        saved = self._saved.pop(execution_id, None) is not None
        if finished:
            known = self._bases.pop(execution_id, None) is not None
            if saved or known:
                writing = self._tasks.get(execution_id)
                self._start(execution_id, self._delete(execution_id, writing))

    async def close(self) -> None:
        """Wait for the snapshots being written (a stopping scheduler leaves none half)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _start(self, execution_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks[execution_id] = task
        task.add_done_callback(
            lambda done: (
                self._tasks.pop(execution_id, None)
                if self._tasks.get(execution_id) is done
                else None
            )
        )

    def _remember(self, execution_id: str, base: _Base) -> None:
        self._bases[execution_id] = base
        self._bases.move_to_end(execution_id)
        while len(self._bases) > self.keep:
            self._bases.popitem(last=False)

    async def _read(self, execution_id: str) -> _Base | None:
        """The stored snapshot's state and chain, or None (none, or one that may not be
        used: one written without a chain is of no use to a scheduler that stamps)."""
        try:
            data = await self.log.snapshots.get(execution_id)
            if data is None:
                return None
            state, chain = await asyncio.to_thread(decode_snapshot_chain, data, execution_id)
            if chain is None:
                raise SnapshotUnusableError("a snapshot without the log's chain")
        except SnapshotUnusableError as exc:
            log.warning("scheduler.snapshot_ignored", execution_id=execution_id, reason=str(exc))
            return None
        except Exception as exc:  # the log is the truth: read all of it instead
            log.warning("scheduler.snapshot_unreadable", execution_id=execution_id, error=repr(exc))
            return None
        self._saved[execution_id] = state.last_seq
        return state, chain

    async def _write(self, execution_id: str) -> None:
        try:
            base = self._bases.get(execution_id) or await self._read(execution_id)
            loaded = await self._tail(execution_id, base)
            if loaded is None or self._saved.get(execution_id) == loaded[0].last_seq:
                return
            state, chain = loaded
            self._saved[execution_id] = state.last_seq
            data = await asyncio.to_thread(encode_snapshot, state, chain)
            await self.log.snapshots.put(execution_id, data)
            self._remember(execution_id, loaded)
            self.written += 1
        except Exception as exc:
            log.warning("scheduler.snapshot_failed", execution_id=execution_id, error=repr(exc))

    async def _delete(self, execution_id: str, writing: asyncio.Task[None] | None) -> None:
        if writing is not None:
            with contextlib.suppress(Exception):
                await writing
        try:
            await self.log.snapshots.delete(execution_id)
        except Exception as exc:  # it expires with the bucket's max age
            log.warning(
                "scheduler.snapshot_not_deleted", execution_id=execution_id, error=repr(exc)
            )


_Base = tuple[ExecutionState, ChainHead]
"""A snapshot's state and the log's chain through it."""


def _fold(tail: list[tuple[int, Event]], base: ExecutionState | None) -> ExecutionState | None:
    return fold(tail, base) if tail else base
