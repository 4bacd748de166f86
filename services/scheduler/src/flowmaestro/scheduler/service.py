"""The scheduler: consume every execution log, fold, decide, and carry out the decisions.

An input event is acknowledged only after every decision it led to is stored in
JetStream, so a crash at any point is followed by a redelivery that decides again; the
decision keys make the repeats no-ops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.aio.client import Client

from flowmaestro.events import (
    Append,
    CodecError,
    Decision,
    Dispatch,
    ExecutionCancelRequested,
    ExecutionStarted,
    ExecutionState,
    FoldError,
    NodeWaiting,
    StartTimer,
    StopExecution,
    decide,
    decode_event,
    encode,
    evolve,
)
from flowmaestro.events.events import admissible_outcome
from flowmaestro.events.names import (
    EXEC_STREAM,
    SCHEDULER_CONSUMER,
    Header,
    cancel_subject,
    command_subject,
    execution_of,
    is_outcome_subject,
    node_timer_id,
    outcome_subject,
)
from flowmaestro.events.state import NodeStatus
from flowmaestro.runtime import ContinuousPull, ExecutionLog
from flowmaestro.runtime.outputs import OutputStore
from flowmaestro.runtime.wire import WireMsg

__all__ = ["Scheduler"]

log = structlog.get_logger("flowmaestro.scheduler")

_ACK_DELAY_S = 0.005
"""How long an acknowledgement waits for later batches to cover (one ack for many)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Folds execution logs into states and acts on `decide`."""

    def __init__(
        self,
        nc: Client,
        clock: Callable[[], datetime] = _utcnow,
        max_in_flight: int = 1000,
        max_cached: int = 50_000,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.log = ExecutionLog(nc)
        self.outputs = OutputStore(self.js)
        self.clock = clock
        self.max_in_flight = max_in_flight
        self.max_cached = max_cached
        self.states: OrderedDict[str, ExecutionState] = OrderedDict()
        self.issued: dict[str, set[str]] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()
        self._unacked: WireMsg | None = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Process events until `stop` is set (or forever)."""
        stop = stop or asyncio.Event()
        pull = ContinuousPull(self.nc, EXEC_STREAM, SCHEDULER_CONSUMER, self.max_in_flight)
        await pull.start()
        log.info("scheduler.started")
        consume = asyncio.ensure_future(self._consume(pull))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({consume, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if consume.done():
                consume.result()  # a crash of the loop surfaces here
        finally:
            for task in (consume, stopped):
                task.cancel()
            await asyncio.gather(consume, stopped, return_exceptions=True)
            self._ack()
            await pull.stop()

    async def _consume(self, pull: ContinuousPull) -> None:
        """Handle batches in order. The consumer acknowledges everything up to the message
        acknowledged, so a failed batch is retried in place, never passed over; and the
        acknowledgement is sent a moment later, covering the batches handled meanwhile."""
        loop = asyncio.get_running_loop()
        while True:
            msgs = await pull.next_batch()
            while True:
                try:
                    await self.handle(msgs)
                    break
                except Exception as exc:
                    log.warning("scheduler.batch_failed", error=repr(exc))
                    await asyncio.sleep(0.5)
            if self._unacked is None:
                loop.call_later(_ACK_DELAY_S, self._ack)
            self._unacked = msgs[-1]
            await pull.done(len(msgs))

    def _ack(self) -> None:
        msg, self._unacked = self._unacked, None
        if msg is not None:
            with contextlib.suppress(Exception):
                msg.ack_now()

    async def handle(self, msgs: list[WireMsg]) -> None:
        """Fold a batch and carry out the decisions (the caller acknowledges it)."""
        touched: dict[str, ExecutionState] = {}
        for msg in msgs:
            execution_id = execution_of(msg.subject)
            if execution_id in self.finished:
                continue
            state = await self._apply(execution_id, msg)
            if state is not None:
                touched[execution_id] = state
        await self._carry_out(touched)

    async def _apply(self, execution_id: str, msg: WireMsg) -> ExecutionState | None:
        """Fold one message into the execution's state (loaded from the log if not held)."""
        seq = msg.seq
        state = self.states.get(execution_id)
        outcome = is_outcome_subject(msg.subject)
        try:
            event = decode_event(msg.data)
            if outcome and not await self._admit(execution_id, state, event):
                log.error("scheduler.refused_outcome", execution_id=execution_id, seq=seq)
                return None
            if state is None:
                if isinstance(event, ExecutionStarted):
                    state = evolve(None, event, seq)
                else:
                    state = await self._load(execution_id)
            elif seq > state.last_seq:
                state = evolve(state, await self.outputs.hydrate(event), seq)
        except (CodecError, FoldError) as exc:
            log.error("scheduler.bad_event", execution_id=execution_id, seq=seq, error=str(exc))
            return None
        if state is None:
            return None
        if outcome and isinstance(event, NodeWaiting):
            await self._arm(execution_id, event)
        self.states[execution_id] = state
        self.states.move_to_end(execution_id)
        return state

    async def _admit(self, execution_id: str, state: ExecutionState | None, event: Any) -> bool:
        """Whether an executor may have appended `event`: a node outcome; the start of a
        child named after a running attempt of its parent, with the parent's owner; a
        cancel request for a child execution. A refused child start is purged."""
        if not admissible_outcome(event):
            return False
        if isinstance(event, ExecutionCancelRequested):
            state = state or await self._load(execution_id)
            return state is not None and state.parent is not None
        if not isinstance(event, ExecutionStarted) or event.parent is None or state is not None:
            return True  # a repeated start is left to the fold
        parent_id = event.parent.execution_id
        parent = self.states.get(parent_id) or await self._load(parent_id)
        node = parent.nodes.get(event.parent.node_id) if parent else None
        if (
            parent is not None
            and node is not None
            and parent.owner_id == event.owner_id
            and not parent.status.terminal
            # the scheduler does not fold its own dispatch records: the attempt running
            # may be one past the state held here, and still read as pending
            and node.attempt <= event.parent.attempt <= node.attempt + 1
            and node.status in (NodeStatus.PENDING, NodeStatus.SCHEDULED, NodeStatus.WAITING)
        ):
            return True
        await self.js.purge_stream(EXEC_STREAM, subject=outcome_subject(execution_id))
        return False

    async def _arm(self, execution_id: str, waiting: NodeWaiting) -> None:
        """Arm a parked attempt's timer; replacing a timer of the same id, it is idempotent."""
        fire = waiting.fire
        if fire is None or waiting.until is None:
            return
        if fire.node_id != waiting.node_id or fire.attempt != waiting.attempt:
            log.error("scheduler.refused_timer", execution_id=execution_id)
            return
        timer_id = node_timer_id(waiting.node_id, waiting.attempt)
        await (await self.log.schedule(execution_id, timer_id, waiting.until, fire))

    async def _load(self, execution_id: str) -> ExecutionState | None:
        state: ExecutionState | None = None
        for seq, event in await self.log.read(execution_id):
            state = evolve(state, await self.outputs.hydrate(event), seq)
        return state

    async def _carry_out(self, touched: dict[str, ExecutionState]) -> None:
        while True:
            pending: list[tuple[str, str, Any]] = []
            for execution_id, state in touched.items():
                issued = self.issued.setdefault(execution_id, set())
                for decision in decide(state, self.clock(), issued):
                    pending.append(
                        (execution_id, decision.key, await self._start(execution_id, decision))
                    )
            results = await asyncio.gather(*(p[2] for p in pending), return_exceptions=True)
            failed = False
            for (execution_id, key, _), result in zip(pending, results, strict=True):
                if isinstance(result, BaseException):
                    failed = True
                    log.warning("scheduler.effect_failed", key=key, error=repr(result))
                else:
                    self.issued[execution_id].add(key)
            if not failed:
                break
            await asyncio.sleep(0.5)
        for execution_id, state in touched.items():
            if state.status.terminal:
                self._forget(execution_id)
        while len(self.states) > self.max_cached:
            self._forget(next(iter(self.states)), finished=False)

    def _forget(self, execution_id: str, finished: bool = True) -> None:
        self.states.pop(execution_id, None)
        self.issued.pop(execution_id, None)
        if finished:
            self.finished[execution_id] = None
            while len(self.finished) > self.max_cached:
                self.finished.popitem(last=False)

    async def _start(self, execution_id: str, decision: Decision) -> Any:
        match decision:
            case Append(key=key, event=event, execution_id=target, record=record):
                return await self.log.append_async(target or execution_id, event, key, record)
            case Dispatch(key=key, command=command):
                return await self.log.publisher.publish(
                    command_subject(command.node_type), encode(command), {Header.MSG_ID: key}
                )
            case StartTimer(timer_id=timer_id, at=at, event=event):
                return await self.log.schedule(execution_id, timer_id, at, event)
            case StopExecution():
                await self.nc.publish(cancel_subject(execution_id), b"")
                return asyncio.ensure_future(self.log.cancel_timers(execution_id))
