"""The scheduler: consume every execution log, fold, decide, and carry out the decisions.

An input event is acknowledged only after every decision it led to is stored in
JetStream, so a crash at any point is followed by a redelivery that decides again; the
decision keys make the repeats no-ops.

One execution cannot stall the others. A command larger than the server accepts fails
only its node (`too_large`); any other effect the server refuses is tried a bounded number
of times (`Settings.effect_attempts`), then that execution fails with the reason in its
log and the batch moves on. A time-out counts too when the server still answers a ping
and the streams answer (a subject it will not take, an acknowledgement that never comes).
Only while the server does not answer at all, or a stream does not (a restart, a cluster
electing a new leader), does the scheduler wait without counting: then no execution could
move anyway.

Several schedulers share the executions: the log is partitioned and JetStream hands each
partition to one of them at a time (`runtime.partitions`). When a partition comes to this
one, the states it holds may be stale (another advanced those executions meanwhile), so it
drops them all and loads each execution again from the log when it next sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import insort
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import nats.errors
import structlog
from nats.js.errors import APIError

from flowmaestro.events import (
    Append,
    CodecError,
    Decision,
    Dispatch,
    ErrorInfo,
    Event,
    ExecuteNode,
    ExecutionCancelRequested,
    ExecutionFailed,
    ExecutionStarted,
    ExecutionState,
    FoldError,
    NodeCompleted,
    NodeFailed,
    NodeWaiting,
    ReportChild,
    StartTimer,
    StopExecution,
    decide,
    decode_event,
    encode,
    evolve,
)
from flowmaestro.events.chain import ChainHead, genesis, message_digest
from flowmaestro.events.events import admissible_outcome
from flowmaestro.events.names import (
    end_key,
    execution_of,
    is_outcome_subject,
    log_kind,
    node_timer_id,
    result_key,
    stop_key,
    wait_timer_key,
)
from flowmaestro.events.state import NodeStatus
from flowmaestro.runtime import PayloadTooLargeError, Settings, tracing
from flowmaestro.runtime.errors import NatsUnreachableError
from flowmaestro.runtime.eventlog import LogConsumer, LogMessage, SchedulerLog
from flowmaestro.runtime.logs import log_scope
from flowmaestro.runtime.metrics import SchedulerMetrics
from flowmaestro.runtime.publisher import PublishAck
from flowmaestro.runtime.service import run_until_stopped
from flowmaestro.scheduler.snapshots import Snapshots

__all__ = ["Scheduler"]

log = structlog.get_logger("flowmaestro.scheduler")

_ACK_DELAY_S = 0.005
"""How long an acknowledgement waits for later batches to cover (one ack for many)."""
_RESYNC_WINDOW_S = 30.0
"""For this long after taking over a partition whose previous holder left messages
unacknowledged, the chain of an execution is brought up to date from the log before each
round of its appends: that holder may still be storing the dispatch records of its last
batch, which this one would not know of (its effects give up within
`FLOWMAESTRO_EFFECT_ATTEMPTS` tries of at most ~10 s each)."""
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 2.0
"""Back-off between tries of failed effects: doubling from the first, up to the max."""


def _unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the server could not be reached, rather than that it refused."""
    if isinstance(exc, APIError):
        return exc.code == 503  # no stream answered (JetStream restarting)
    return isinstance(
        exc,
        TimeoutError
        | ConnectionError
        | NatsUnreachableError
        | nats.errors.ConnectionClosedError
        | nats.errors.NoServersError,
    )


def _backoff(tries: int) -> float:
    return min(_RETRY_MAX_S, _RETRY_FIRST_S * 2 ** max(0, tries - 1))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Folds execution logs into states and acts on `decide`."""

    def __init__(
        self,
        log: SchedulerLog,
        clock: Callable[[], datetime] = _utcnow,
        max_in_flight: int = 1000,
        max_cached: int = 50_000,
        settings: Settings | None = None,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        """`log`: JetStream in production (`JetStreamEventLog`), memory in fast tests."""
        self.log = log
        self.metrics = metrics or SchedulerMetrics()
        self.settings = settings or Settings.from_env()
        self.clock = clock
        self.max_in_flight = max_in_flight
        self.max_cached = max_cached
        self.states: OrderedDict[str, ExecutionState] = OrderedDict()
        self.chains: dict[str, ChainHead] = {}
        """The hash chain over each held execution's log, through the last input folded."""
        self.records: dict[str, list[tuple[int, bytes]]] = {}
        """Dispatch records stored but not chained yet (sequence, digest): the consumer
        does not hand them back, so they join the chain before the next input after them."""
        self.issued: dict[str, set[str]] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()
        self._resync_due: set[str] = set()
        """Executions whose chain is brought up to date from the log before their next
        round of appends (a record of theirs was acknowledged as a duplicate)."""
        self._unacked: LogMessage | None = None
        self._generation = 0
        self._unsettled_at: float | None = None
        """When this replica last took over an unsettled partition (`_RESYNC_WINDOW_S`)."""
        self.snapshots = Snapshots(log, self.settings.snapshot_every)
        self._trace = (
            structlog.get_logger("flowmaestro.scheduler").bind().is_enabled_for(logging.DEBUG)
        )
        """At `FLOWMAESTRO_LOG_LEVEL=debug`: a line for each message handled, each
        execution's decisions and each effect stored (for tracing a stuck execution)."""

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Process events until `stop` is set (or forever); a crash of the loop is raised."""
        stop = stop or asyncio.Event()
        pull = self.log.scheduler_consumer(self.max_in_flight)
        await pull.start()
        log.info("scheduler.started")
        try:
            await run_until_stopped(stop, partial(self._consume, pull))
        finally:
            self._ack()
            await pull.stop()
            await self.snapshots.close()

    async def _consume(self, pull: LogConsumer) -> None:
        """Handle batches in order. The consumer acknowledges everything up to the message
        acknowledged, so a failed batch is retried in place, never passed over; and the
        acknowledgement is sent a moment later, covering the batches handled meanwhile."""
        loop = asyncio.get_running_loop()
        while True:
            msgs = await pull.next_batch()
            self._unsettled_at = getattr(pull, "unsettled_at", None)
            if pull.generation != self._generation:
                self._generation = pull.generation
                self.states.clear()  # a partition came here: what is held may be stale
                self.chains.clear()
                self.records.clear()
                self.issued.clear()
                self._resync_due.clear()
            tries = 0
            while True:
                try:
                    await self.handle(msgs)
                    break
                except Exception as exc:
                    # `handle` lets through only an unreachable server: wait for it.
                    tries += 1
                    log.warning("scheduler.batch_failed", error=repr(exc), tries=tries)
                    await asyncio.sleep(_backoff(tries))
            if self._unacked is None:
                loop.call_later(_ACK_DELAY_S, self._ack)
            self._unacked = msgs[-1]
            await pull.done(len(msgs))

    def _ack(self) -> None:
        msg, self._unacked = self._unacked, None
        if msg is not None:
            with contextlib.suppress(Exception):
                msg.ack_now()

    async def handle(self, msgs: list[LogMessage]) -> None:
        """Fold a batch and carry out the decisions (the caller acknowledges it)."""
        touched: dict[str, ExecutionState] = {}
        begin = time.perf_counter()
        for msg in msgs:
            execution_id = execution_of(msg.subject)
            if execution_id in self.finished:
                continue
            state = await self._apply(execution_id, msg)
            if state is not None:
                touched[execution_id] = state
        folded = time.perf_counter()
        self.metrics.fold_seconds.observe(folded - begin)
        self.metrics.batch_events.inc(len(msgs))
        await self._carry_out(touched)
        self.metrics.decide_seconds.observe(time.perf_counter() - folded)

    async def _apply(self, execution_id: str, msg: LogMessage) -> ExecutionState | None:
        """Fold one message into the execution's state (loaded from the log if not held)."""
        seq = msg.seq
        state = self.states.get(execution_id)
        outcome = is_outcome_subject(msg.subject)
        if state is not None:
            self._chain(execution_id, seq, msg.subject, msg.data)
        try:
            event = decode_event(msg.data)
            if outcome and not await self._admit(execution_id, state, event, seq):
                log.error("scheduler.refused_outcome", seq=seq, **_scope(execution_id, state))
                return None
            if state is None:
                if isinstance(event, ExecutionStarted) and msg.deliveries == 1:
                    # handed for the first time: nothing can follow it in the log yet
                    # (handed again, a scheduler may have stored its records: loaded)
                    state = evolve(None, event, seq)
                    digest = message_digest(log_kind(msg.subject), msg.data)
                    self.chains[execution_id] = genesis(execution_id).extend(seq, digest)
                    self.metrics.execution_started(event.workflow_id)
                else:
                    state = await self._load(execution_id, seq, hold=True)
            elif seq > state.last_seq:
                # A large output stays stored: the fold keeps its reference, not its value.
                state = evolve(state, event, seq)
            if state is not None and outcome and isinstance(event, NodeWaiting):
                node = state.nodes.get(event.node_id)
                # A redelivered wait whose timer already fired (its completion is in the
                # log) must not be armed again: it would fire a second completion.
                if (
                    node is not None
                    and node.status is NodeStatus.WAITING
                    and node.attempt == event.attempt
                    and (msg.deliveries == 1 or await self._unarmed(execution_id, event))
                ):
                    await self._arm(execution_id, event)  # failures: like unreadable logs
        except (CodecError, FoldError) as exc:
            fields = _scope(execution_id, state)
            log.error("scheduler.bad_event", seq=seq, error=str(exc), **fields)
            return None
        except Exception as exc:
            if _unreachable(exc):
                raise
            fields = _scope(execution_id, state)
            log.error("scheduler.unreadable_log", error=repr(exc), **fields)
            return None
        if state is None:
            return None
        if self._trace:
            log.debug(
                "scheduler.handled",
                execution_id=execution_id,
                seq=seq,
                deliveries=msg.deliveries,
                last_seq=state.last_seq,
                status=state.status.value,
            )
        self.states[execution_id] = state
        self.states.move_to_end(execution_id)
        self.snapshots.observe(execution_id, state)
        return state

    def _chain(self, execution_id: str, seq: int, subject: str, data: bytes) -> None:
        """Add an input at `seq` (and the records stored before it) to the log's chain."""
        chain = self.chains.get(execution_id)
        if chain is None or seq <= chain.through:
            return
        records = self.records.get(execution_id)
        while records and records[0][0] < seq:
            record_seq, digest = records.pop(0)
            if record_seq > chain.through:
                chain = chain.extend(record_seq, digest)
        self.chains[execution_id] = chain.extend(seq, message_digest(log_kind(subject), data))

    async def _resync(self, execution_id: str) -> None:
        """Extend the execution's chain with every message stored after it (inputs not
        delivered yet are skipped when they come): after a takeover, the records the
        previous holder stored late join it before this one stamps. After a duplicate
        record (`_resync_due`), the chain is made again from the whole log: what another
        holder stored may lie before inputs already chained here."""
        held = self.chains.get(execution_id)
        if held is None:
            return
        chain = genesis(execution_id) if execution_id in self._resync_due else held
        try:  # through what is chained here, even from a replica behind it
            entries = await self.log.read_log(execution_id, chain.through, held.through)
        except Exception as exc:  # stamps go on from what is known; verify would tell
            log.warning("scheduler.chain_resync_failed", execution_id=execution_id, error=repr(exc))
            return
        self._resync_due.discard(execution_id)
        for entry in entries:
            if entry.seq > chain.through:
                chain = chain.extend(entry.seq, message_digest(entry.kind, entry.data))
        self.chains[execution_id] = chain
        records = self.records.get(execution_id)
        if records:
            self.records[execution_id] = [r for r in records if r[0] > chain.through]

    def _recorded(self, execution_id: str, stored: PublishAck, digest: bytes) -> None:
        """A dispatch record was stored (`stored`: its acknowledgement). One
        acknowledged as a duplicate was stored before (an earlier try, or a holder that
        handled the same input), perhaps with other bytes (a timestamp): the chain takes
        it, and whatever else that holder stored, from the log before the next stamp."""
        if stored.duplicate:
            self._resync_due.add(execution_id)
            return
        chain = self.chains.get(execution_id)
        if chain is not None and stored.seq > chain.through:
            insort(self.records.setdefault(execution_id, []), (stored.seq, digest))

    async def _append(
        self,
        execution_id: str,
        event: Event,
        key: str | None,
        target: str | None = None,
        record: bool = False,
    ) -> Any:
        """Start an append; one to the execution's own log carries the chain's stamp."""
        if target not in (None, execution_id):
            return await self.log.append_async(target, event, key, record)
        chain = self.chains.get(execution_id)
        if chain is None:
            return await self.log.append_async(execution_id, event, key, record)
        payload = encode(event)
        digest = message_digest("r" if record else "e", payload)
        started = await self.log.append_async(
            execution_id, event, key, record, payload=payload, stamp=chain.stamp(digest)
        )
        if record:
            if isinstance(started, asyncio.Future):
                started.add_done_callback(
                    lambda done: (
                        None
                        if done.cancelled() or done.exception()
                        else self._recorded(execution_id, done.result(), digest)
                    )
                )
            else:
                self._recorded(execution_id, started, digest)
        return started

    async def _admit(
        self, execution_id: str, state: ExecutionState | None, event: Any, seq: int
    ) -> bool:
        """Whether an executor may have appended `event`: a node outcome; the start of a
        child named after a running attempt of its parent, with the parent's owner; a
        cancel request for a child execution. A refused child start is purged."""
        if not admissible_outcome(event):
            return False
        if isinstance(event, ExecutionCancelRequested):
            state = state or await self._load(execution_id, seq)
            return state is not None and state.parent is not None
        if not isinstance(event, ExecutionStarted) or event.parent is None or state is not None:
            return True  # a repeated start is left to the fold
        parent_id = event.parent.execution_id
        parent = self.states.get(parent_id) or await self._load(parent_id, 0)
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
        await self.log.drop_outcomes(execution_id)
        return False

    async def _unarmed(self, execution_id: str, waiting: NodeWaiting) -> bool:
        """Whether a wait handled before (redelivered, or read back in a take-over) still
        needs its timer: none pending, and no completion in the log as the stream's leader
        holds it. A fired timer's schedule is removed as its event is stored, so a timer
        armed again after it fired (a state behind the log, or the event on its way) would
        fire a second completion."""
        timer_id = node_timer_id(waiting.node_id, waiting.attempt)
        if await self.log.timer_pending(execution_id, timer_id):
            return False
        state = await self._load(execution_id, 0)
        node = state.nodes.get(waiting.node_id) if state else None
        return (
            node is not None
            and node.status is NodeStatus.WAITING
            and node.attempt == waiting.attempt
        )

    async def _arm(self, execution_id: str, waiting: NodeWaiting) -> None:
        """Arm a parked attempt's timer; replacing a timer of the same id, it is idempotent."""
        fire = waiting.fire
        if fire is None or waiting.until is None:
            return
        if fire.node_id != waiting.node_id or fire.attempt != waiting.attempt:
            fields = _scope(execution_id, self.states.get(execution_id))
            log.error("scheduler.refused_timer", **fields)
            return
        timer_id = node_timer_id(waiting.node_id, waiting.attempt)
        key = wait_timer_key(execution_id, timer_id, waiting.until)
        await _settled(
            await self.log.schedule_async(execution_id, timer_id, waiting.until, fire, key)
        )

    async def _load(
        self, execution_id: str, through: int, hold: bool = False
    ) -> ExecutionState | None:
        """The state of an execution not held here, as of now: its latest snapshot folded
        with the log after it (the whole log when it has none), through the log's last
        message as the stream's leader holds it (`through` at least), and the log's chain
        over everything read. A replica of a replicated log may lag behind; a state read
        from one would miss the very event being handled, or a wait's completion that
        already came (and arm its timer again: a second completion). `hold`: the state is
        to be held, with the chain."""
        through = max(through, await self.log.last_seq(execution_id))
        loaded = await self.snapshots.load(execution_id, through)
        if loaded is None:
            return None
        state, chain = loaded
        if hold:
            self.chains[execution_id] = chain
            self.records.pop(execution_id, None)
        return state

    async def _carry_out(self, touched: dict[str, ExecutionState]) -> None:
        """Carry out every decision; retry what failed, and isolate what keeps failing."""
        todo = dict(touched)
        refusals: dict[str, int] = {}
        waits = 0
        while todo:
            pending: list[tuple[str, str, asyncio.Future[Any]]] = []
            undecided: set[str] = set()
            for execution_id, state in todo.items():
                if tracing.enabled():
                    with tracing.span(
                        "scheduler",
                        "scheduler.decide",
                        state.traceparent,
                        attributes={"flowmaestro.execution_id": execution_id},
                    ) as span:
                        traceparent = tracing.span_traceparent(span, state.traceparent)
                        if not await self._decide(execution_id, state, traceparent, pending):
                            undecided.add(execution_id)
                elif not await self._decide(execution_id, state, state.traceparent, pending):
                    undecided.add(execution_id)
            results = await asyncio.gather(*(p[2] for p in pending), return_exceptions=True)
            failed: dict[str, tuple[str, BaseException]] = {}
            for (execution_id, key, _), result in zip(pending, results, strict=True):
                if isinstance(result, BaseException):
                    fields = _scope(execution_id, self.states.get(execution_id))
                    log.warning("scheduler.effect_failed", key=key, error=repr(result), **fields)
                    failed.setdefault(execution_id, (key, result))
                else:
                    if self._trace:
                        log.debug("scheduler.effect", execution_id=execution_id, key=key)
                    self.issued[execution_id].add(key)
            todo = {execution_id: touched[execution_id] for execution_id in undecided}
            answers: list[bool] = []
            for execution_id, (key, error) in failed.items():
                if not _unreachable(error) or await self._server_answers(answers):
                    refusals[execution_id] = refusals.get(execution_id, 0) + 1
                    permanent = isinstance(error, PayloadTooLargeError)
                    exhausted = refusals[execution_id] >= self.settings.effect_attempts
                    if (permanent or exhausted) and await self._isolate(
                        execution_id, key, error, refusals[execution_id]
                    ):
                        continue
                todo[execution_id] = touched[execution_id]
            if todo:
                waits += 1
                await asyncio.sleep(_backoff(waits))
        for execution_id, state in touched.items():
            if state.status.terminal:
                self.metrics.execution_ended(state.workflow_id, state.status.value)
                self._forget(execution_id)
        while len(self.states) > self.max_cached:
            self._forget(next(iter(self.states)), finished=False)

    async def _decide(
        self,
        execution_id: str,
        state: ExecutionState,
        traceparent: str | None,
        pending: list[tuple[str, str, asyncio.Future[Any]]],
    ) -> bool:
        """Decide for one execution and start the effects (added to `pending`); False
        when `decide` failed and even the execution's failure could not be appended."""
        issued = self.issued.setdefault(execution_id, set())
        unsettled = self._unsettled_at
        if execution_id in self._resync_due or (
            unsettled is not None
            and asyncio.get_running_loop().time() - unsettled < _RESYNC_WINDOW_S
        ):
            await self._resync(execution_id)
        try:
            decisions = decide(state, self.clock(), issued)
        except Exception as exc:  # a state `decide` cannot handle is poison too
            with log_scope(lambda: _scope(execution_id, state)):
                log.exception("scheduler.decide_failed")
            return await self._isolate(execution_id, "decide", exc, 1)
        if self._trace:
            keys = [decision.key for decision in decisions]
            log.debug("scheduler.decided", execution_id=execution_id, keys=keys)
        for decision in decisions:
            pending.append(
                (
                    execution_id,
                    decision.key,
                    await self._begin(execution_id, decision, traceparent),
                )
            )
        return True

    async def _begin(
        self, execution_id: str, decision: Decision, traceparent: str | None = None
    ) -> asyncio.Future[Any]:
        """Start one effect; its future fails instead of raising, so one bad effect does
        not keep the batch's others from being sent."""
        try:
            started = await self._start(execution_id, decision, traceparent)
            return asyncio.ensure_future(_settled(started))
        except Exception as exc:
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed

    async def _server_answers(self, answered: list[bool]) -> bool:
        """Whether the server answers a ping now and both streams answer, each with a
        leader (asked once per round, kept in `answered`): if so, a time-out concerned
        one execution's effect, not the server, and counts against that execution. On a
        cluster that lost a server, a stream has no leader for a few seconds: waiting
        then costs no execution an attempt."""
        if not answered:
            answered.append(await self.log.reachable())
        return answered[0]

    async def _isolate(self, execution_id: str, key: str, error: BaseException, tries: int) -> bool:
        """Fail the execution whose effect `key` cannot be carried out, with the reason in
        its log, and stop handling it. False when even that append cannot be made now."""
        reason = f"the scheduler could not carry out {key} after {tries} attempt(s): {error}"
        failure = ExecutionFailed(
            failed_at=self.clock(), error=ErrorInfo(message=reason, kind="poison", terminal=True)
        )
        try:
            await _settled(await self._append(execution_id, failure, end_key(execution_id)))
        except Exception as exc:
            if _unreachable(exc) and not await self._server_answers([]):
                return False
            # Even the failure cannot be written to this log: stop handling it here.
            fields = _scope(execution_id, self.states.get(execution_id))
            log.error("scheduler.isolate_failed", error=repr(exc), **fields)
        state = self.states.get(execution_id)
        log.error("scheduler.execution_isolated", reason=reason, **_scope(execution_id, state))
        self.metrics.execution_ended(state.workflow_id if state else None, "failed")
        with contextlib.suppress(Exception):
            await self._start(execution_id, StopExecution(stop_key(execution_id)))
        self._forget(execution_id)
        return True

    def _forget(self, execution_id: str, finished: bool = True) -> None:
        self._resync_due.discard(execution_id)
        self.states.pop(execution_id, None)
        self.chains.pop(execution_id, None)
        self.records.pop(execution_id, None)
        self.issued.pop(execution_id, None)
        self.snapshots.forget(execution_id, finished)
        if finished:
            self.finished[execution_id] = None
            while len(self.finished) > self.max_cached:
                self.finished.popitem(last=False)

    async def _start(
        self, execution_id: str, decision: Decision, traceparent: str | None = None
    ) -> Any:
        match decision:
            case Append(key=key, event=event, execution_id=target, record=record):
                try:
                    return await self._append(execution_id, event, key, target, record)
                except PayloadTooLargeError as exc:
                    if not isinstance(event, NodeCompleted) or target not in (None, execution_id):
                        raise
                    # A composite node's result (a loop's results) too large: fail the node.
                    failed = NodeFailed(
                        node_id=event.node_id,
                        attempt=event.attempt,
                        failed_at=self.clock(),
                        error=_too_large_error(f"the result of node {event.node_id!r}", exc),
                    )
                    return await self._append(execution_id, failed, key)
            case Dispatch(key=key, command=command):
                try:  # with the trace context the executor's attempt continues
                    return await self.log.dispatch(command, key, traceparent)
                except PayloadTooLargeError as exc:
                    return await self._too_large(execution_id, command, exc)
            case StartTimer(key=key, timer_id=timer_id, at=at, event=event):
                return await self.log.schedule_async(execution_id, timer_id, at, event, key)
            case ReportChild(finished=finished):
                return await self.log.report_child(finished)
            case StopExecution():
                await self.log.notify_stop(execution_id)
                return asyncio.ensure_future(self.log.cancel_timers(execution_id))

    async def _too_large(
        self, execution_id: str, command: ExecuteNode, exc: PayloadTooLargeError
    ) -> Any:
        """A command that cannot be sent fails its node (terminal), nothing else."""
        failed = NodeFailed(
            node_id=command.node_id,
            attempt=command.attempt,
            failed_at=self.clock(),
            error=_too_large_error(f"the command for node {command.node_id!r}", exc),
        )
        key = result_key(execution_id, command.node_id, command.attempt)
        return await self._append(execution_id, failed, key)


def _scope(execution_id: str, state: ExecutionState | None) -> dict[str, Any]:
    """The log fields of an execution's lines."""
    return {
        "execution_id": execution_id,
        "trace_id": tracing.trace_id_of(state.traceparent) if state else None,
    }


def _too_large_error(what: str, exc: PayloadTooLargeError) -> ErrorInfo:
    return ErrorInfo(
        message=f"{what} is {exc.size} bytes, over the event log's limit of {exc.limit} "
        "bytes; pass large values by reference to a node output",
        kind="too_large",
        terminal=True,
    )


async def _settled(started: Any) -> Any:
    """Await what `_start` returned: an acknowledgement's future, or a value."""
    if isinstance(started, asyncio.Future):
        return await started
    return started
