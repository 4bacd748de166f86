"""The scheduler's consumption of the execution logs, spread over partitions.

The stream stores every log subject under its execution's partition (a subject transform
hashing the id, `names.partition_transform`); each partition has a durable consumer in
the priority group `names.SCHEDULER_GROUP` with policy `pinned_client`. Every scheduler
replica pulls from every partition; JetStream delivers each partition to the one replica
it pinned, so each execution is advanced by one replica at a time. A replica that stops
pulling (killed, cut off) loses its pins after the consumer's pin time-out and JetStream
pins the next replica waiting.

Two things are done here besides:
- Taking over. A replica pinned to a partition first reads, from the log, what the
  partition's previous holder was handed and did not acknowledge (from the consumer's
  acknowledgement floor through the last message it delivered, or the first delivered
  here if later): acknowledging a later message acknowledges those too
  (`AckPolicy.ALL`), even one whose redelivery is still on its way, so they must be
  handled first; deliveries to this replica still on their way are waited for a moment
  and handed as delivered. The same goes for a gap in the consumer's delivery sequence
  while pinned: deliveries lost with a connection (a server killed mid-delivery), or
  handed to another replica while this one did not know it had lost the pin.
  `generation` changes, so the scheduler drops the states it holds (they may be stale).
- Sharing out. Each replica keeps one pull request waiting on the presence consumer, whose
  `num_waiting` is then the number of replicas. A replica holding more than its share
  (`ceil(partitions / replicas)`) unpins the excess (JetStream pins each to a replica
  waiting for it); a replica holding its share stops waiting on the others. That only decides who
  asks; who holds what is always JetStream's pin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import deque
from typing import Any

import structlog
from nats.aio.client import Client

from flowmaestro.events.names import (
    EXEC_STREAM,
    SCHEDULER_GROUP,
    SCHEDULER_PRESENCE,
    is_scheduler_input,
    partition_wildcard,
    scheduler_partition,
)
from flowmaestro.runtime.log import read_stored
from flowmaestro.runtime.pull import ContinuousPull
from flowmaestro.runtime.wire import WireMsg

__all__ = ["PartitionedConsumer"]

log = structlog.get_logger("flowmaestro.partitions")

_REQUEST_EXPIRES_S = 0.8
"""Pull requests end this soon, so a pinned replica asks again within the pin time-out."""
_BALANCE_EVERY_S = 0.5
_RELEASE_HOLD_S = 3.0
"""After unpinning a partition, a replica waits this long before asking for it again."""
_COUNTS_KEPT = 4
_ARRIVAL_WAIT_S = 0.5
"""How long a take-over waits for the deliveries to it still on their way."""


class _Recovered:
    """A message read back from the log while taking over a partition (already
    acknowledged with the first message acknowledged after it)."""

    __slots__ = ("data", "seq", "subject")
    deliveries = 2
    """Read back: handed before (to the previous holder, or lost on the way)."""

    def __init__(self, subject: str, data: bytes, seq: int) -> None:
        self.subject = subject
        self.data = data
        self.seq = seq

    def ack_now(self) -> None:
        return None


class _BatchEnd:
    """The last message of a batch: acknowledging it acknowledges, in every partition,
    the last message handed over so far."""

    __slots__ = ("_consumer", "_latest", "msg")

    def __init__(self, msg: Any, consumer: PartitionedConsumer, latest: dict[int, WireMsg]):
        self.msg = msg
        self._consumer = consumer
        self._latest = latest

    @property
    def subject(self) -> str:
        return self.msg.subject

    @property
    def data(self) -> bytes:
        return self.msg.data

    @property
    def seq(self) -> int:
        return self.msg.seq

    @property
    def deliveries(self) -> int:
        return self.msg.deliveries

    def ack_now(self) -> None:
        acked = self._consumer.acked
        for partition, msg in self._latest.items():
            seq = msg.seq
            if seq > acked.get(partition, 0):
                acked[partition] = seq
                msg.ack_now()


class PartitionedConsumer:
    """A `LogConsumer` over every scheduler partition, of which JetStream hands this
    replica the ones it pinned to it."""

    def __init__(self, nc: Client, partitions: int, max_in_flight: int) -> None:
        self.nc = nc
        self.partitions = partitions
        per_partition = max(4, max_in_flight // max(1, partitions) * 2)
        self._pulls = [
            ContinuousPull(
                nc,
                EXEC_STREAM,
                scheduler_partition(p),
                per_partition,
                on_message=lambda msg, p=p: self._arrive(p, msg),
                group=SCHEDULER_GROUP,
                expires_s=_REQUEST_EXPIRES_S,
            )
            for p in range(partitions)
        ]
        self._presence = ContinuousPull(
            nc, EXEC_STREAM, SCHEDULER_PRESENCE, 1, on_message=lambda _: None, expires_s=1.0
        )
        self.generation = 0
        """Changes whenever this replica is pinned to a partition anew."""
        self.unsettled_at: float | None = None
        """When (event loop time) this replica last took over a partition whose previous
        holder left messages unacknowledged: that one may still be storing the effects of
        its last batch for a few seconds (the scheduler's hash chain re-reads meanwhile)."""
        self.acked: dict[int, int] = {}
        self._pins: list[str | None] = [None] * partitions
        self._taking_over: dict[int, list[WireMsg]] = {}
        self._reread: set[int] = set()
        self._next_delivery: dict[int, int] = {}
        self._held_back: dict[int, float] = {}
        self._released: dict[int, str] = {}
        self._arrived: list[Any] = []
        self._counts: dict[int, int] = {}
        self._handed: list[dict[int, int]] = []
        self._latest: dict[int, WireMsg] = {}
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._balancer: asyncio.Task[None] | None = None
        self._replicas = 1
        self._counted: deque[int] = deque(maxlen=_COUNTS_KEPT)

    @property
    def held(self) -> list[int]:
        """The partitions JetStream last pinned to this replica."""
        return [p for p, pull in enumerate(self._pulls) if pull.pin_id is not None]

    async def start(self) -> None:
        """Join every partition's group and the presence count."""
        await self._presence.start()
        for pull in self._pulls:
            await pull.start()
        self._balancer = asyncio.create_task(self._balance())

    async def stop(self) -> None:
        """Stop pulling and unpin the partitions held, so JetStream pins them to other
        replicas at once (what was not acknowledged is read back by the next holder). A
        replica that cannot say so (killed) loses them after the pin time-out."""
        tasks = [*self._tasks, *([self._balancer] if self._balancer else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for pull in [*self._pulls, self._presence]:
            await pull.stop()
        held = self.held
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(self._release(p) for p in held), return_exceptions=True), 2.0
            )

    def _arrive(self, partition: int, msg: WireMsg) -> None:
        pull = self._pulls[partition]
        pin = pull.pin_id
        self._counts[partition] = self._counts.get(partition, 0) + 1
        delivery = msg.consumer_seq
        expected = self._next_delivery.get(partition)
        self._next_delivery[partition] = delivery + 1
        if pin is not None and pin == self._released.get(partition):
            pull.pin_id = None  # sent before this replica unpinned it: still its to handle
        elif pin != self._pins[partition] or (expected is not None and delivery != expected):
            # Pinned anew; or deliveries missing (lost with a connection, or handed to
            # another replica while this one did not know): a later acknowledgement
            # would acknowledge them too, so they are read back from the log first.
            self._pins[partition] = pin
            self.generation += 1
            waiting = self._taking_over.get(partition)
            if waiting is not None:  # already taking over: read the gap up to here
                waiting.append(msg)
                self._reread.add(partition)
                return
            self._taking_over[partition] = [msg]
            task = asyncio.get_running_loop().create_task(self._take_over(partition))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        waiting = self._taking_over.get(partition)
        if waiting is not None:
            waiting.append(msg)
            return
        self._latest[partition] = msg
        self._arrived.append(msg)
        self._ready.set()

    async def _take_over(self, partition: int) -> None:
        """Read what was delivered and not acknowledged (the previous holder's, or
        deliveries lost on the way), then hand it over ahead of what arrived meanwhile."""
        recovered: list[Any] = []
        tries = 0
        end = 0
        while True:
            self._reread.discard(partition)
            try:
                floor, delivered, last_delivery = await self._ack_state(partition)
                await self._arrivals(partition, last_delivery)
                # Through the latest delivery waiting, by sequence (a redelivery of an
                # older message may arrive after a newer one), and through everything the
                # consumer ever delivered: what the previous holder was handed may come
                # again after newer messages, and acknowledging one of those would
                # acknowledge it unhandled.
                end = max(delivered + 1, *(msg.seq for msg in self._taking_over[partition]))
                recovered = []
                if floor + 1 < end:
                    recovered = await self._read_gap(partition, floor + 1, end)
            except Exception as exc:
                tries += 1
                log.warning("partitions.take_over_failed", partition=partition, error=repr(exc))
                await asyncio.sleep(min(2.0, 0.1 * tries))
                continue
            if partition not in self._reread:
                break
        waiting = self._taking_over.pop(partition, [])
        # a message read back that also arrived here is handed as delivered (a first
        # delivery stays one: the scheduler trusts it more than a message read back)
        delivered_here = {msg.seq: msg for msg in waiting}
        if any(msg.seq not in delivered_here for msg in recovered):
            self.unsettled_at = asyncio.get_running_loop().time()
        log.info(
            "partitions.taken_over", partition=partition, recovered=len(recovered), held=self.held
        )
        if waiting:
            self._latest[partition] = max(waiting, key=lambda msg: msg.seq)
        self._arrived.extend(delivered_here.get(msg.seq, msg) for msg in recovered)
        # what the gap holds came before `end`; what was delivered from `end` on follows
        self._arrived.extend(msg for msg in waiting if msg.seq >= end)
        if self._arrived:
            self._ready.set()

    async def _ack_state(self, partition: int) -> tuple[int, int, int]:
        """The partition consumer's acknowledgement floor, and the stream and delivery
        sequences of the last message it delivered (to any replica)."""
        subject = f"$JS.API.CONSUMER.INFO.{EXEC_STREAM}.{scheduler_partition(partition)}"
        info = json.loads((await self.nc.request(subject, b"", timeout=2.0)).data)
        if info.get("error"):
            raise RuntimeError(str(info["error"]))
        delivered = info["delivered"]
        return (
            int(info["ack_floor"]["stream_seq"]),
            int(delivered["stream_seq"]),
            int(delivered["consumer_seq"]),
        )

    async def _arrivals(self, partition: int, last_delivery: int) -> None:
        """Wait a moment for the deliveries to this replica still on their way, up to
        `last_delivery`: what arrives is handed as delivered, not as read back (a
        delivery that does not come is read back)."""
        deadline = asyncio.get_running_loop().time() + _ARRIVAL_WAIT_S
        while (  # noqa: ASYNC110 - arrivals come by callback
            self._next_delivery.get(partition, 0) <= last_delivery
            and asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.005)

    async def _read_gap(self, partition: int, first: int, end: int) -> list[Any]:
        """The partition's events and outcomes with sequences in `[first, end)`, all of
        them even where the replica answering lags behind (`read_stored`)."""
        read = await read_stored(
            self.nc,
            partition_wildcard(partition),
            first - 1,
            through=end - 1,
            up_to=end - 1,
            keep=lambda subject, _: is_scheduler_input(subject),
        )
        return [_Recovered(subject, data, seq) for seq, subject, data, _ in read]

    async def next_batch(self) -> list[Any]:
        """The messages that have arrived, in order per partition (at least one); the
        last one acknowledges all of them."""
        while not self._arrived:
            self._ready.clear()
            await self._ready.wait()
        batch, self._arrived = self._arrived, []
        self._handed.append(self._counts)
        self._counts = {}
        batch[-1] = _BatchEnd(batch[-1], self, dict(self._latest))
        return batch

    async def done(self, count: int = 1) -> None:
        """The oldest batch handed over is handled: room for as many in its partitions."""
        if self._handed:
            for partition, handled in self._handed.pop(0).items():
                await self._pulls[partition].done(handled)

    async def _balance(self) -> None:
        while True:
            await asyncio.sleep(_BALANCE_EVERY_S)
            with contextlib.suppress(Exception):
                await self._rebalance()

    async def _rebalance(self) -> None:
        subject = f"$JS.API.CONSUMER.INFO.{EXEC_STREAM}.{SCHEDULER_PRESENCE}"
        info = json.loads((await self.nc.request(subject, b"", timeout=2.0)).data)
        # A request outlives its replica (killed) or its connection (a reconnection asks
        # again) by up to its expiry: the fewest of the last few counts is the number.
        self._counted.append(max(1, int(info.get("num_waiting", 1))))
        self._replicas = min(self._counted)
        share = math.ceil(self.partitions / self._replicas)
        held = self.held
        now = asyncio.get_running_loop().time()
        if len(held) > share and not self._taking_over:
            excess, held = held[share:], held[:share]
            for partition in excess:
                self._held_back[partition] = now + _RELEASE_HOLD_S
            await asyncio.gather(*(self._release(p) for p in excess))
        waiting: list[int] = []
        for partition, pull in enumerate(self._pulls):
            if pull.pin_id is not None:
                pull.pause(False)  # a pinned replica that stops asking loses the pin
            elif self._held_back.get(partition, 0.0) > now:
                pull.pause(True)
            elif len(held) < share:
                pull.pause(False)
            else:
                waiting.append(partition)
        # Holding its share, a replica still waits on a partition nobody holds while it
        # has messages: a replica that is wrong about what it holds cannot stall one.
        unattended = await asyncio.gather(*(self._unattended(p) for p in waiting))
        for partition, alone in zip(waiting, unattended, strict=True):
            self._pulls[partition].pause(not alone)

    async def _unattended(self, partition: int) -> bool:
        """Whether no replica is pinned to the partition while it has messages to hand."""
        subject = f"$JS.API.CONSUMER.INFO.{EXEC_STREAM}.{scheduler_partition(partition)}"
        try:
            info = json.loads((await self.nc.request(subject, b"", timeout=2.0)).data)
        except Exception:
            return True
        pinned = any(g.get("pinned_client_id") for g in info.get("priority_groups") or [])
        pending = int(info.get("num_pending", 0)) + int(info.get("num_ack_pending", 0))
        return not pinned and pending > 0

    async def _release(self, partition: int) -> None:
        """Unpin a partition: JetStream pins it to another replica waiting for it."""
        pull = self._pulls[partition]
        pull.pause(True)
        if pull.pin_id is not None:
            self._released[partition] = pull.pin_id
        pull.pin_id = None
        self._pins[partition] = None
        subject = f"$JS.API.CONSUMER.UNPIN.{EXEC_STREAM}.{scheduler_partition(partition)}"
        body = json.dumps({"group": SCHEDULER_GROUP}).encode()
        await self.nc.request(subject, body, timeout=2.0)
        log.info("partitions.released", partition=partition, replicas=self._replicas)
