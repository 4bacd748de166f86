"""The execution log behind one small interface: append, read, consume, schedule.

`EventLog` is what the engine asks of its log; `SchedulerLog` adds what the scheduler
does besides (batched consumption with one acknowledgement for many, pipelined appends,
commands, cancel notices, child results). `JetStreamEventLog` is the real one (over
`ExecutionLog` and durable consumers); `MemoryEventLog` keeps everything in this process,
so the scheduler runs in tests without a server. One contract suite
(`tests/support/eventlog_contract.py`) runs against both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from flowmaestro.events import (
    ChildFinished,
    Event,
    ExecuteNode,
    ExecutionStarted,
    decode_command,
    decode_event,
    encode,
)
from flowmaestro.events.chain import LogEntry
from flowmaestro.events.names import (
    CHILD_RESULT_BUCKET,
    CMD_STREAM,
    EXEC_STREAM,
    SCHEDULER_CONSUMER,
    SCHEDULER_PARTITIONS,
    Header,
    cancel_subject,
    command_subject,
    exec_subject,
    execution_of,
    log_kind,
    outcome_subject,
    record_subject,
    stored_event_wildcard,
    stored_outcome_subject,
)
from flowmaestro.runtime.config import Settings
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.errors import AppendConflictError, PayloadTooLargeError
from flowmaestro.runtime.kv import LazyBucket
from flowmaestro.runtime.log import ExecutionLog, admissible
from flowmaestro.runtime.partitions import PartitionedConsumer
from flowmaestro.runtime.publisher import PublishAck
from flowmaestro.runtime.pull import ContinuousPull
from flowmaestro.runtime.snapshots import JetStreamSnapshotStore, MemorySnapshotStore, SnapshotStore
from flowmaestro.runtime.topology import streams_available
from flowmaestro.runtime.wire import WireMsg

__all__ = [
    "Delivery",
    "EventLog",
    "JetStreamEventLog",
    "LogConsumer",
    "LogMessage",
    "MemoryEventLog",
    "MemoryOutcomes",
    "SchedulerLog",
]


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

    async def read(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[tuple[int, Event]]:
        """The execution's events after `after_seq`, in order (none for an unknown id);
        with `through`, the sequence of one of its messages, at least up to that one (a
        replica of the log that has not stored it yet is not read from)."""
        ...

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """Make (or join) the durable consumer `name`; the iterator yields every
        execution's events appended from then on, each until acknowledged (a `nak`
        redelivers at once)."""
        ...

    async def schedule(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> None:
        """Append `event` at `at` (whole seconds); replaces the timer of the same id.
        `key`: the arming's dedupe key (armed again with it, the timer is not)."""
        ...

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """Drop a pending timer."""
        ...


class LogMessage(Protocol):
    """One message of a batch: the log subject it was appended to, its payload, its
    sequence and how often it was delivered."""

    subject: str
    data: bytes

    @property
    def seq(self) -> int: ...
    @property
    def deliveries(self) -> int: ...
    def ack_now(self) -> None:
        """Acknowledge this message and every earlier one of the consumer."""
        ...


class LogConsumer(Protocol):
    """A durable consumer read in batches: what has arrived, all at once."""

    @property
    def generation(self) -> int:
        """Changes when executions another consumer may have advanced meanwhile start
        coming here (a partition moved to this replica): states held may be stale."""
        ...

    async def start(self) -> None: ...
    async def next_batch(self) -> list[Any]:
        """The `LogMessage`s that have arrived (at least one)."""
        ...

    async def done(self, count: int = 1) -> None:
        """`count` messages handled: room to receive more."""
        ...

    async def stop(self) -> None:
        """Stop receiving; what was not acknowledged comes again to the next consumer."""
        ...


class SchedulerLog(EventLog, Protocol):
    """What the scheduler asks of its log besides the `EventLog` basics. Effects answer a
    value or a future of it, so many are in flight at once; a message over the log's size
    limit raises `PayloadTooLargeError` before anything is sent."""

    def scheduler_consumer(self, max_in_flight: int) -> LogConsumer:
        """The scheduler's consumer: the events and node outcomes (never the dispatch
        records) of every execution this replica is given — all of them with one replica;
        with several, each execution goes to one of them at a time."""
        ...

    async def append_async(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        record: bool = False,
        payload: bytes | None = None,
        stamp: str | None = None,
    ) -> Any:
        """Start an append; a `record` is stored but not delivered to the scheduler.
        `payload`: the event already encoded; `stamp`: its chain header (`events.chain`).
        The answer (or the future's) is the stored sequence or an acknowledgement with it."""
        ...

    async def read_log(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[LogEntry]:
        """Every stored message of the execution after `after_seq` as the hash chain
        covers them (forged outcomes and records included), with kind and stamp; see
        `EventLog.read` for `through`."""
        ...

    async def dispatch(self, command: ExecuteNode, key: str, traceparent: str | None = None) -> Any:
        """Send a node command to its node type's queue (once per `key`), with the trace
        context (`traceparent`) the executor's attempt continues."""
        ...

    async def schedule_async(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> Any:
        """`EventLog.schedule`, answering before the timer is stored."""
        ...

    async def cancel_timers(self, execution_id: str) -> None:
        """Drop every pending timer of the execution."""
        ...

    async def timer_pending(self, execution_id: str, timer_id: str) -> bool:
        """Whether the timer is armed and has not fired."""
        ...

    async def notify_stop(self, execution_id: str) -> None:
        """Tell executors to abandon the execution's running nodes."""
        ...

    async def report_child(self, finished: ChildFinished) -> Any:
        """Leave a tool-call child's end where the executor awaiting it reads it."""
        ...

    async def drop_outcomes(self, execution_id: str) -> None:
        """Remove what executors appended to the execution (a refused child start)."""
        ...

    async def reachable(self) -> bool:
        """Whether the log answers now (a time-out then concerns one effect, not all)."""
        ...

    async def last_seq(self, execution_id: str) -> int:
        """The sequence of the execution's last message now (0 for none): `read` through
        it reads the whole log as of now."""
        ...

    @property
    def snapshots(self) -> SnapshotStore:
        """Where the scheduler keeps snapshots of folded states (`runtime.snapshots`)."""
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
        self._child_results = LazyBucket(nc.jetstream(), CHILD_RESULT_BUCKET)
        self._snapshots = JetStreamSnapshotStore(nc, Settings.from_env().stream_replicas)

    @property
    def snapshots(self) -> SnapshotStore:
        """See `SchedulerLog.snapshots`: the `FM_SNAPSHOTS` object store."""
        return self._snapshots

    async def start(self, started: ExecutionStarted) -> int:
        """See `EventLog.start`."""
        return await self.log.start(started)

    async def append(self, execution_id: str, event: Event, key: str | None = None) -> int:
        """See `EventLog.append`."""
        return (await self.log.append(execution_id, event, key)).seq

    async def read(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[tuple[int, Event]]:
        """See `EventLog.read`."""
        return await self.log.read(execution_id, after_seq, through)

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """See `EventLog.consume`."""
        await self.nc.jetstream().add_consumer(
            EXEC_STREAM,
            ConsumerConfig(
                durable_name=name,
                filter_subject=stored_event_wildcard(),
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

    async def schedule(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> None:
        """See `EventLog.schedule`."""
        await (await self.log.schedule(execution_id, timer_id, at, event, key))

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """See `EventLog.cancel_timer`."""
        await self.log.cancel_timer(execution_id, timer_id)

    # what the scheduler asks besides (`SchedulerLog`)

    @property
    def publisher(self) -> Any:
        """The publisher of appends and commands (its time-out is a setting)."""
        return self.log.publisher

    def scheduler_consumer(self, max_in_flight: int) -> LogConsumer:
        """See `SchedulerLog.scheduler_consumer`: the partitions' consumers the topology
        made, of which JetStream pins some to this replica (`PartitionedConsumer`)."""
        return PartitionedConsumer(self.nc, SCHEDULER_PARTITIONS, max_in_flight)

    async def append_async(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        record: bool = False,
        payload: bytes | None = None,
        stamp: str | None = None,
    ) -> Any:
        """See `SchedulerLog.append_async`."""
        return await self.log.append_async(
            execution_id, event, key, record, payload=payload, stamp=stamp
        )

    async def read_log(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[LogEntry]:
        """See `SchedulerLog.read_log`."""
        return await self.log.read_log(execution_id, after_seq, through)

    async def dispatch(self, command: ExecuteNode, key: str, traceparent: str | None = None) -> Any:
        """See `SchedulerLog.dispatch`."""
        subject = command_subject(command.node_type)
        headers: dict[str, str] = {Header.MSG_ID: key}
        if traceparent:
            headers[Header.TRACEPARENT] = traceparent
        return await self.log.publisher.publish(subject, encode(command), headers)

    async def schedule_async(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> Any:
        """See `SchedulerLog.schedule_async`."""
        return await self.log.schedule(execution_id, timer_id, at, event, key)

    async def cancel_timers(self, execution_id: str) -> None:
        """See `SchedulerLog.cancel_timers`."""
        await self.log.cancel_timers(execution_id)

    async def timer_pending(self, execution_id: str, timer_id: str) -> bool:
        """See `SchedulerLog.timer_pending` (asked of the stream's leader)."""
        return await self.log.timer_pending(execution_id, timer_id)

    async def notify_stop(self, execution_id: str) -> None:
        """See `SchedulerLog.notify_stop`."""
        await self.nc.publish(cancel_subject(execution_id), b"")

    async def report_child(self, finished: ChildFinished) -> Any:
        """See `SchedulerLog.report_child`."""
        bucket = await self._child_results()
        return await bucket.put(finished.execution_id, encode(finished))

    async def drop_outcomes(self, execution_id: str) -> None:
        """See `SchedulerLog.drop_outcomes`."""
        await self.nc.jetstream().purge_stream(
            EXEC_STREAM, subject=stored_outcome_subject(execution_id)
        )

    async def reachable(self) -> bool:
        """See `SchedulerLog.reachable`: the server answers a ping and both streams
        answer, each with a leader (a cluster that lost a server has none for a few
        seconds)."""
        try:
            await (await wire_of(self.nc)).flush(timeout=2.0)
            return await streams_available(self.nc, (EXEC_STREAM, CMD_STREAM))
        except Exception:
            return False

    async def last_seq(self, execution_id: str) -> int:
        """See `SchedulerLog.last_seq` (answered by the stream's leader)."""
        return await self.log.last_seq(execution_id)


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
    scheduler: bool = False
    """Gets outcomes too (the scheduler's filter); the others only events."""


@dataclass(slots=True)
class _MemoryMessage:
    subject: str
    data: bytes
    seq: int
    deliveries: int
    consumer: _MemoryConsumer

    def ack_now(self) -> None:
        for seq in [s for s in self.consumer.unacked if s <= self.seq]:
            del self.consumer.unacked[seq]


class _MemoryBatches:
    """A `LogConsumer` over a memory consumer: batches, acknowledged cumulatively; on
    `stop`, what was not acknowledged waits for the next consumer of the same name."""

    generation = 0
    """One partition, never moved."""

    def __init__(self, log: MemoryEventLog, consumer: _MemoryConsumer, most: int) -> None:
        self._log = log
        self._consumer = consumer
        self._most = most

    async def start(self) -> None:
        return None

    async def next_batch(self) -> list[Any]:
        queue = self._consumer.queue
        arrived = [await queue.get()]
        while not queue.empty() and len(arrived) < self._most:
            arrived.append(queue.get_nowait())
        batch: list[Any] = []
        for seq, deliveries in arrived:
            self._consumer.unacked[seq] = deliveries
            subject, payload = self._log.record(seq)
            batch.append(_MemoryMessage(subject, payload, seq, deliveries, self._consumer))
        return batch

    async def done(self, count: int = 1) -> None:
        return None

    async def stop(self) -> None:
        consumer = self._consumer
        waiting = []
        while not consumer.queue.empty():
            waiting.append(consumer.queue.get_nowait())
        for item in sorted([*((s, d + 1) for s, d in consumer.unacked.items()), *waiting]):
            consumer.queue.put_nowait(item)
        consumer.unacked.clear()


_KINDS = {"e": exec_subject, "x": outcome_subject, "r": record_subject}


class MemoryEventLog:
    """The execution log in this process's memory: same answers, no server.

    Events are stored encoded, as JetStream stores them, with the subject they would have
    (events, outcomes, dispatch records), so what cannot round-trip fails here too and
    readers skip the same forgeries; sequences are global across executions, as in one
    stream. Commands wait in per-node-type queues (`commands`), child results in
    `child_results`, cancel notices in `stopped`. A message over `max_payload` bytes is
    refused as the server would.
    """

    def __init__(self, max_payload: int = 1024 * 1024) -> None:
        self.max_payload = max_payload
        self._records: list[tuple[str, str, bytes]] = []  # index + 1 is the sequence
        self._by_execution: dict[str, list[int]] = {}
        self._keys: dict[str, int] = {}
        self._consumers: dict[str, _MemoryConsumer] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.commands: dict[str, asyncio.Queue[ExecuteNode]] = {}
        self.child_results: dict[str, ChildFinished] = {}
        self.stopped: list[str] = []
        self._command_keys: set[str] = set()
        self._snapshots = MemorySnapshotStore()
        self.stamps: dict[int, str] = {}
        """The chain header of each stamped message, by sequence."""

    @property
    def snapshots(self) -> MemorySnapshotStore:
        """See `SchedulerLog.snapshots`: kept in memory beside the log."""
        return self._snapshots

    def record(self, seq: int) -> tuple[str, bytes]:
        """The subject and payload stored at `seq`."""
        _, subject, payload = self._records[seq - 1]
        return subject, payload

    def outcomes(self) -> MemoryOutcomes:
        """The executors' view: appends go to the outcome subjects."""
        return MemoryOutcomes(self)

    async def start(self, started: ExecutionStarted, kind: str = "e") -> int:
        """See `EventLog.start`."""
        execution_id = started.execution_id
        existing = self._by_execution.get(execution_id)
        if existing:
            first = existing[0]
            if self._records[first - 1][2] == encode(started):
                return first
            raise AppendConflictError(f"execution {execution_id} already exists")
        return self._store(execution_id, kind, self._sized(execution_id, encode(started)))

    async def append(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        kind: str = "e",
        payload: bytes | None = None,
        stamp: str | None = None,
    ) -> int:
        """See `EventLog.append` (keys are remembered for good, not for a window)."""
        if key is not None and key in self._keys:
            return self._keys[key]
        data = self._sized(execution_id, payload or encode(event))
        seq = self._store(execution_id, kind, data)
        if stamp is not None:
            self.stamps[seq] = stamp
        if key is not None:
            self._keys[key] = seq
        return seq

    def replace(self, seq: int, payload: bytes | None) -> None:
        """Change (or, with None, remove) a stored message as someone with write access to
        the store could: for tests of the hash chain."""
        execution_id, subject, _ = self._records[seq - 1]
        if payload is None:
            self._by_execution[execution_id].remove(seq)
        else:
            self._records[seq - 1] = (execution_id, subject, payload)

    def _sized(self, subject: str, payload: bytes) -> bytes:
        if len(payload) > self.max_payload:
            raise PayloadTooLargeError(subject, len(payload), self.max_payload)
        return payload

    def _store(self, execution_id: str, kind: str, payload: bytes) -> int:
        subject = _KINDS[kind](execution_id)
        self._records.append((execution_id, subject, payload))
        seq = len(self._records)
        self._by_execution.setdefault(execution_id, []).append(seq)
        for consumer in self._consumers.values():
            if kind == "e" or (kind == "x" and consumer.scheduler):
                consumer.queue.put_nowait((seq, 1))
        return seq

    async def read(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[tuple[int, Event]]:
        """See `EventLog.read` (one copy of the log: never behind)."""
        read: list[tuple[int, Event]] = []
        for seq in self._by_execution.get(execution_id, []):
            _, subject, payload = self._records[seq - 1]
            if seq > after_seq and admissible(subject, payload):
                read.append((seq, decode_event(payload)))
        return read

    async def consume(self, name: str) -> AsyncIterator[Delivery]:
        """See `EventLog.consume`."""
        return self._deliveries(self._consumers.setdefault(name, _MemoryConsumer()))

    async def _deliveries(self, consumer: _MemoryConsumer) -> AsyncIterator[Delivery]:
        while True:
            seq, deliveries = await consumer.queue.get()
            consumer.unacked[seq] = deliveries
            execution_id, _, payload = self._records[seq - 1]
            yield _MemoryDelivery(consumer, execution_id, seq, decode_event(payload), deliveries)

    async def schedule(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> None:
        """See `EventLog.schedule` (`at` rounded up to whole seconds, as JetStream does)."""
        if key is not None:
            if key in self._keys:
                return
            self._keys[key] = 0
        await self.cancel_timer(execution_id, timer_id)
        exact = at.astimezone(UTC)
        when = exact.replace(microsecond=0).timestamp() + (1 if exact.microsecond else 0)
        delay = max(0.0, when - datetime.now(UTC).timestamp())
        payload = encode(event)

        def fire() -> None:
            self._timers.pop((execution_id, timer_id), None)
            self._store(execution_id, "e", payload)

        loop = asyncio.get_running_loop()
        self._timers[(execution_id, timer_id)] = loop.call_later(delay, fire)

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """See `EventLog.cancel_timer`."""
        handle = self._timers.pop((execution_id, timer_id), None)
        if handle is not None:
            handle.cancel()

    # what the scheduler asks besides (`SchedulerLog`)

    def scheduler_consumer(self, max_in_flight: int) -> LogConsumer:
        """See `SchedulerLog.scheduler_consumer` (made the first time with everything
        already in the log, as the topology's durable consumer delivers all)."""
        consumer = self._consumers.get(SCHEDULER_CONSUMER)
        if consumer is None:
            consumer = self._consumers[SCHEDULER_CONSUMER] = _MemoryConsumer(scheduler=True)
            for seq, (_, subject, _) in enumerate(self._records, 1):
                if not subject.endswith(".r"):
                    consumer.queue.put_nowait((seq, 1))
        return _MemoryBatches(self, consumer, max_in_flight)

    async def append_async(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        record: bool = False,
        payload: bytes | None = None,
        stamp: str | None = None,
    ) -> Any:
        """See `SchedulerLog.append_async` (acknowledged as JetStream does: a repeated key
        is a duplicate, answered with the first one's sequence)."""
        kind = "r" if record else "e"
        duplicate = key is not None and key in self._keys
        seq = await self.append(execution_id, event, key, kind, payload, stamp)
        return PublishAck(stream="memory", seq=seq, duplicate=duplicate)

    async def read_log(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[LogEntry]:
        """See `SchedulerLog.read_log` (one copy of the log: never behind)."""
        return [
            LogEntry(
                seq,
                log_kind(self._records[seq - 1][1]),
                self._records[seq - 1][2],
                self.stamps.get(seq),
            )
            for seq in self._by_execution.get(execution_id, [])
            if seq > after_seq
        ]

    async def dispatch(self, command: ExecuteNode, key: str, traceparent: str | None = None) -> Any:
        """See `SchedulerLog.dispatch` (memory keeps no headers)."""
        payload = self._sized(command_subject(command.node_type), encode(command))
        if key not in self._command_keys:
            self._command_keys.add(key)
            queue = self.commands.setdefault(command.node_type, asyncio.Queue())
            queue.put_nowait(decode_command(payload))
        return None

    async def schedule_async(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> Any:
        """See `SchedulerLog.schedule_async`."""
        await self.schedule(execution_id, timer_id, at, event, key)

    async def timer_pending(self, execution_id: str, timer_id: str) -> bool:
        """See `SchedulerLog.timer_pending`."""
        return (execution_id, timer_id) in self._timers

    async def cancel_timers(self, execution_id: str) -> None:
        """See `SchedulerLog.cancel_timers`."""
        for key in [k for k in self._timers if k[0] == execution_id]:
            await self.cancel_timer(*key)

    async def notify_stop(self, execution_id: str) -> None:
        """See `SchedulerLog.notify_stop`."""
        self.stopped.append(execution_id)

    async def report_child(self, finished: ChildFinished) -> Any:
        """See `SchedulerLog.report_child`."""
        self.child_results[finished.execution_id] = finished

    async def drop_outcomes(self, execution_id: str) -> None:
        """See `SchedulerLog.drop_outcomes`."""
        outcome = outcome_subject(execution_id)
        self._by_execution[execution_id] = [
            seq
            for seq in self._by_execution.get(execution_id, [])
            if self._records[seq - 1][1] != outcome
        ]

    async def reachable(self) -> bool:
        """See `SchedulerLog.reachable`: memory always answers."""
        return True

    async def last_seq(self, execution_id: str) -> int:
        """See `SchedulerLog.last_seq`."""
        return max(self._by_execution.get(execution_id, [0]))

    def close(self) -> None:
        """Drop every pending timer."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


class MemoryOutcomes:
    """A memory log as the executors see it: they append node outcomes only."""

    def __init__(self, log: MemoryEventLog) -> None:
        self._log = log

    async def start(self, started: ExecutionStarted) -> int:
        """A tool-call child's start, on the child's outcome subject."""
        return await self._log.start(started, "x")

    async def append(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        traceparent: str | None = None,
    ) -> int:
        """An outcome, on the execution's outcome subject (memory keeps no headers)."""
        return await self._log.append(execution_id, event, key, "x")

    async def read(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[tuple[int, Event]]:
        """What the executors may read back: the outcome subject."""
        outcome = outcome_subject(execution_id)
        return [
            (seq, event)
            for seq, event in await self._log.read(execution_id, after_seq)
            if self._log.record(seq)[0] == outcome
        ]
