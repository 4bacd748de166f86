"""The execution log behind one small interface: append, read, consume, schedule.

`EventLog` is what the engine asks of its log. `JetStreamEventLog` is the real one (over
`ExecutionLog` and a durable consumer); `MemoryEventLog` keeps everything in this process,
for fast tests of code that drives a log without a server. One contract suite
(`tests/support/eventlog_contract.py`) runs against both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from flowmaestro.events import Event, ExecutionStarted, decode_event, encode
from flowmaestro.events.names import EXEC_STREAM, event_wildcard, execution_of
from flowmaestro.runtime.errors import AppendConflictError
from flowmaestro.runtime.log import ExecutionLog
from flowmaestro.runtime.pull import ContinuousPull
from flowmaestro.runtime.wire import WireMsg

__all__ = ["Delivery", "EventLog", "JetStreamEventLog", "MemoryEventLog"]


class Delivery(Protocol):
    """One event handed to a consumer; it comes again until acknowledged."""

    @property
    def execution_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def event(self) -> Event: ...
    @property
    def deliveries(self) -> int: ...
    async def ack(self) -> None: ...
    async def nak(self) -> None: ...


class EventLog(Protocol):
    """What the engine asks of its execution log."""

    async def start(self, started: ExecutionStarted) -> int:
        """Append an execution's first event; a retry of the same start returns the same
        sequence, another start of the same id raises `AppendConflictError`."""
        ...

    async def append(self, execution_id: str, event: Event, key: str | None = None) -> int:
        """Append one event and return its sequence; a repeated `key` appends nothing."""
        ...

    async def read(self, execution_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """The execution's events after `after_seq`, in order (none for an unknown id)."""
        ...

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """Make (or join) the durable consumer `name`; the iterator yields every
        execution's events appended from then on, each until acknowledged (a `nak`
        redelivers at once)."""
        ...

    async def schedule(self, execution_id: str, timer_id: str, at: datetime, event: Event) -> None:
        """Append `event` at `at` (whole seconds); replaces the timer of the same id."""
        ...

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """Drop a pending timer."""
        ...


# -- JetStream ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _JetStreamDelivery:
    msg: WireMsg
    execution_id: str
    seq: int
    event: Event
    deliveries: int
    pull: ContinuousPull

    async def ack(self) -> None:
        await self.msg.ack()
        await self.pull.done()

    async def nak(self) -> None:
        await self.msg.nak()
        await self.pull.done()


class JetStreamEventLog:
    """The execution log on JetStream (the engine's own streams and subjects)."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.log = ExecutionLog(nc)

    async def start(self, started: ExecutionStarted) -> int:
        """See `EventLog.start`."""
        return await self.log.start(started)

    async def append(self, execution_id: str, event: Event, key: str | None = None) -> int:
        """See `EventLog.append`."""
        return (await self.log.append(execution_id, event, key)).seq

    async def read(self, execution_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """See `EventLog.read`."""
        return await self.log.read(execution_id, after_seq)

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """See `EventLog.consume`."""
        await self.nc.jetstream().add_consumer(
            EXEC_STREAM,
            ConsumerConfig(
                durable_name=name,
                filter_subject=event_wildcard(),
                deliver_policy=DeliverPolicy.NEW,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=30,
                inactive_threshold=3600,  # a consumer nobody pulls from for an hour goes
            ),
        )
        pull = ContinuousPull(self.nc, EXEC_STREAM, name, 100)
        await pull.start()
        return self._deliveries(pull)

    async def _deliveries(self, pull: ContinuousPull) -> AsyncIterator[Delivery]:
        try:
            while True:
                for msg in await pull.next_batch():
                    yield _JetStreamDelivery(
                        msg,
                        execution_of(msg.subject),
                        msg.seq,
                        decode_event(msg.data),
                        msg.deliveries,
                        pull,
                    )
        finally:
            await pull.stop()

    async def schedule(self, execution_id: str, timer_id: str, at: datetime, event: Event) -> None:
        """See `EventLog.schedule`."""
        await (await self.log.schedule(execution_id, timer_id, at, event))

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """See `EventLog.cancel_timer`."""
        await self.log.cancel_timer(execution_id, timer_id)


# -- in memory ----------------------------------------------------------------------


@dataclass(slots=True)
class _MemoryDelivery:
    consumer: _MemoryConsumer
    execution_id: str
    seq: int
    event: Event
    deliveries: int

    async def ack(self) -> None:
        self.consumer.unacked.pop(self.seq, None)

    async def nak(self) -> None:
        if self.consumer.unacked.pop(self.seq, None) is not None:
            self.consumer.queue.put_nowait((self.seq, self.deliveries + 1))


@dataclass(slots=True)
class _MemoryConsumer:
    queue: asyncio.Queue[tuple[int, int]] = field(default_factory=asyncio.Queue)
    unacked: dict[int, int] = field(default_factory=dict)


class MemoryEventLog:
    """The execution log in this process's memory: same answers, no server.

    Events are stored encoded, as JetStream stores them, so what cannot round-trip fails
    here too; sequences are global across executions, as in one stream.
    """

    def __init__(self) -> None:
        self._records: list[tuple[str, bytes]] = []  # index + 1 is the sequence
        self._by_execution: dict[str, list[int]] = {}
        self._keys: dict[str, int] = {}
        self._consumers: dict[str, _MemoryConsumer] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    async def start(self, started: ExecutionStarted) -> int:
        """See `EventLog.start`."""
        execution_id = started.execution_id
        existing = self._by_execution.get(execution_id)
        if existing:
            first = existing[0]
            if self._records[first - 1][1] == encode(started):
                return first
            raise AppendConflictError(f"execution {execution_id} already exists")
        return self._store(execution_id, encode(started))

    async def append(self, execution_id: str, event: Event, key: str | None = None) -> int:
        """See `EventLog.append` (keys are remembered for good, not for a window)."""
        if key is not None and key in self._keys:
            return self._keys[key]
        seq = self._store(execution_id, encode(event))
        if key is not None:
            self._keys[key] = seq
        return seq

    def _store(self, execution_id: str, payload: bytes) -> int:
        self._records.append((execution_id, payload))
        seq = len(self._records)
        self._by_execution.setdefault(execution_id, []).append(seq)
        for consumer in self._consumers.values():
            consumer.queue.put_nowait((seq, 1))
        return seq

    async def read(self, execution_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """See `EventLog.read`."""
        return [
            (seq, decode_event(self._records[seq - 1][1]))
            for seq in self._by_execution.get(execution_id, [])
            if seq > after_seq
        ]

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """See `EventLog.consume`."""
        return self._deliveries(self._consumers.setdefault(name, _MemoryConsumer()))

    async def _deliveries(self, consumer: _MemoryConsumer) -> AsyncIterator[Delivery]:
        while True:
            seq, deliveries = await consumer.queue.get()
            consumer.unacked[seq] = deliveries
            execution_id, payload = self._records[seq - 1]
            yield _MemoryDelivery(consumer, execution_id, seq, decode_event(payload), deliveries)

    async def schedule(self, execution_id: str, timer_id: str, at: datetime, event: Event) -> None:
        """See `EventLog.schedule` (`at` rounded up to whole seconds, as JetStream does)."""
        await self.cancel_timer(execution_id, timer_id)
        exact = at.astimezone(UTC)
        when = exact.replace(microsecond=0).timestamp() + (1 if exact.microsecond else 0)
        delay = max(0.0, when - datetime.now(UTC).timestamp())
        payload = encode(event)

        def fire() -> None:
            self._timers.pop((execution_id, timer_id), None)
            self._store(execution_id, payload)

        loop = asyncio.get_running_loop()
        self._timers[(execution_id, timer_id)] = loop.call_later(delay, fire)

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """See `EventLog.cancel_timer`."""
        handle = self._timers.pop((execution_id, timer_id), None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        """Drop every pending timer."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
