"""The execution log on JetStream: append (deduplicated), read back, timers, listing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError

from flowmaestro.events import (
    Event,
    ExecutionStarted,
    decode_event,
    encode,
)
from flowmaestro.events.chain import LogEntry
from flowmaestro.events.events import TERMINAL_EVENTS, TerminalEvent, admissible_outcome
from flowmaestro.events.names import (
    EXEC_STREAM,
    Header,
    exec_subject,
    execution_of,
    is_outcome_subject,
    log_kind,
    log_subjects,
    outcome_subject,
    record_subject,
    started_key,
    stored_event_wildcard,
    stored_outcome_subject,
    timer_subject,
    timer_wildcard,
)
from flowmaestro.runtime.errors import (
    AppendConflictError,
    ExecutionNotFoundError,
)
from flowmaestro.runtime.publisher import JetStreamPublisher, PublishAck

__all__ = [
    "ExecutionLog",
    "RawRecord",
    "StoredMessage",
    "admissible",
    "leader_read",
    "read_stored",
    "tail",
]

_WRONG_LAST_SEQUENCE = 10071
_READ_BATCH = 5000
_LEADER_TIMEOUT_S = 5.0

RawRecord = tuple[int, bytes]
StoredMessage = tuple[int, str, bytes, str | None]
"""`(seq, stored subject, payload, chain stamp)` of one message of the stream."""


def _at(when: datetime) -> str:
    # `@at` takes whole seconds; rounding up keeps a timer from firing before its time
    # (a wait, or a retry that must honour the far side's Retry-After).
    when = when.astimezone(UTC)
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def admissible(subject: str, payload: bytes) -> bool:
    """False for a record an executor could not legitimately have appended (see
    `events.admissible_outcome`): readers skip it, so a forgery is never folded."""
    return not is_outcome_subject(subject) or admissible_outcome(decode_event(payload))


async def _leader_get(nc: Client, request: dict[str, Any]) -> dict[str, Any] | None:
    """One stored message as the stream's leader holds it (never a follower behind it),
    or None when there is none."""
    reply = await nc.request(
        f"$JS.API.STREAM.MSG.GET.{EXEC_STREAM}", json.dumps(request).encode(), _LEADER_TIMEOUT_S
    )
    answer = json.loads(reply.data)
    error = answer.get("error")
    if error and error.get("code") == 404:
        return None
    if error:
        raise APIError(
            code=error.get("code"),
            err_code=error.get("err_code"),
            description=error.get("description"),
        )
    return answer["message"]


def _header(message: dict[str, Any], name: str) -> str | None:
    """One header of a message as the stream API answers it (a base64 header block)."""
    block = base64.b64decode(message.get("hdrs") or "")
    for line in block.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.decode().strip() == name:
            return value.decode().strip()
    return None


async def leader_read(
    nc: Client, subject: str, after_seq: int, limit: int | None = None, up_to: int | None = None
) -> list[StoredMessage]:
    """`(seq, subject, payload, chain stamp)` of the messages on `subject` (a wildcard
    too) after `after_seq` (up to `up_to`), from the stream's leader: what a direct get
    answered by a replica behind it misses. One request per message: for the few a
    replica lags by."""
    read: list[StoredMessage] = []
    seq = after_seq + 1
    while (limit is None or len(read) < limit) and (up_to is None or seq <= up_to):
        message = await _leader_get(nc, {"seq": seq, "next_by_subj": subject})
        if message is None:
            break
        stored = int(message["seq"])
        if up_to is not None and stored > up_to:
            break
        data = base64.b64decode(message.get("data") or "")
        read.append((stored, message["subject"], data, _header(message, Header.CHAIN)))
        seq = stored + 1
    return read


async def read_stored(
    nc: Client,
    subject: str,
    after_seq: int = 0,
    *,
    through: int = 0,
    up_to: int | None = None,
    limit: int | None = None,
    keep: Callable[[str, bytes], bool] | None = None,
) -> list[StoredMessage]:
    """The messages on `subject` (a wildcard too) after `after_seq`, up to `up_to`, in
    order: those `keep(stored subject, payload)` accepts (all without it), at most `limit`.

    Batched direct gets: one request returns up to a few thousand messages. A replicated
    stream's followers answer direct gets too (the one on the server the client is
    connected to first), and one may lag behind: what it holds is always a beginning of
    the stream. `through`, the sequence of a message on `subject`, makes the read include
    it and so everything before it: what a replica behind it did not have is read from
    the stream's leader (`leader_read`).
    """
    read: list[StoredMessage] = []
    reached = after_seq
    more = True
    while more and (limit is None or len(read) < limit) and (up_to is None or reached < up_to):
        batch = _READ_BATCH if limit is None else min(_READ_BATCH, limit - len(read))
        got, more, last = await _direct_batch(nc, subject, reached + 1, batch, up_to, keep)
        read.extend(got)
        more = more and last > reached  # a batch that brings nothing ends the read
        reached = max(reached, last)
    if reached < through and (limit is None or len(read) < limit):
        left = None if limit is None else limit - len(read)
        for message in await leader_read(nc, subject, reached, left, up_to):
            if keep is None or keep(message[1], message[2]):
                read.append(message)
    return read


async def _direct_batch(
    nc: Client,
    subject: str,
    seq: int,
    batch: int,
    up_to: int | None,
    keep: Callable[[str, bytes], bool] | None,
) -> tuple[list[StoredMessage], bool, int]:
    """One batched direct get from `seq`: what it kept, whether more is stored after it,
    and the highest sequence it read (kept or not)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        request: dict[str, Any] = {"seq": seq, "next_by_subj": subject, "batch": batch}
        if up_to is not None:
            request["up_to_seq"] = up_to
        await nc.publish(f"$JS.API.DIRECT.GET.{EXEC_STREAM}", json.dumps(request).encode(), inbox)
        read: list[StoredMessage] = []
        reached = seq - 1
        pending = 0
        while True:
            try:
                msg = await sub.next_msg(timeout=5.0)
            except nats.errors.TimeoutError:
                raise TimeoutError(f"reading {subject} timed out") from None
            headers = msg.headers or {}
            status = headers.get(Header.STATUS)
            if status == "404":
                return read, False, reached
            if status == "204":  # the end of the batch says what is left after it
                left = headers.get(Header.NUM_PENDING)
                return read, (int(left) if left else pending) > 0, reached
            if status:
                raise APIError(
                    description=f"direct get {status} {headers.get(Header.DESCRIPTION, '')}"
                )
            stored_seq = int(headers[Header.SEQUENCE])
            if up_to is not None and stored_seq > up_to:
                return read, False, reached
            reached = stored_seq
            stored = headers.get(Header.SUBJECT, "")
            if keep is None or keep(stored, msg.data):
                read.append((stored_seq, stored, msg.data, headers.get(Header.CHAIN)))
            pending = int(headers.get(Header.NUM_PENDING, "0") or 0)
    finally:
        await sub.unsubscribe()


class ExecutionLog:
    """Appends to and reads from execution logs; one instance per NATS connection.

    `outcomes=True` (the executors' log) appends to the outcome subjects, the only part
    of a log that the executors' NATS identity may write, and reads only them back.
    """

    def __init__(self, nc: Client, outcomes: bool = False) -> None:
        self.nc = nc
        self._outcomes = outcomes
        self._subject = outcome_subject if outcomes else exec_subject
        self.js = nc.jetstream()
        self.publisher = JetStreamPublisher(nc)

    async def start(self, started: ExecutionStarted) -> int:
        """Append the first event of a new execution; refuses an id that already has a log.

        A retried start (same id, same event) is recognised and returns the first sequence.
        """
        subject = self._subject(started.execution_id)
        payload = encode(started)
        headers: dict[str, str] = {
            Header.MSG_ID: started_key(started.execution_id),
            Header.EXPECTED_LAST_SUBJECT_SEQUENCE: "0",
            Header.EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT: log_subjects(started.execution_id),
        }
        if started.traceparent:
            headers[Header.TRACEPARENT] = started.traceparent
        try:
            ack = await (await self.publisher.publish(subject, payload, headers))
        except APIError as exc:
            if exc.err_code != _WRONG_LAST_SEQUENCE:
                raise
            records = await self.read_raw(started.execution_id, limit=1)
            if records and records[0][1] == payload:
                return records[0][0]
            raise AppendConflictError(f"execution {started.execution_id} already exists") from exc
        return ack.seq

    async def append(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        traceparent: str | None = None,
    ) -> PublishAck:
        """Append one event; a repeated `key` within the dedupe window is a no-op; a
        `traceparent` travels as its header."""
        return await (await self.append_async(execution_id, event, key, traceparent=traceparent))

    async def append_async(
        self,
        execution_id: str,
        event: Event,
        key: str | None = None,
        record: bool = False,
        traceparent: str | None = None,
        payload: bytes | None = None,
        stamp: str | None = None,
    ) -> asyncio.Future[PublishAck]:
        """Start an append and return the future of its acknowledgement; a `record` goes
        where the scheduler does not read it back (see `names.record_subject`).
        `payload`: the event already encoded; `stamp`: its chain header (`events.chain`)."""
        headers: dict[str, str] | None = {Header.MSG_ID: key} if key else None
        if traceparent:
            headers = {**(headers or {}), Header.TRACEPARENT: traceparent}
        if stamp:
            headers = {**(headers or {}), Header.CHAIN: stamp}
        subject = record_subject(execution_id) if record else self._subject(execution_id)
        return await self.publisher.publish(subject, payload or encode(event), headers)

    async def schedule(
        self,
        execution_id: str,
        timer_id: str,
        at: datetime,
        event: Event,
        key: str | None = None,
    ) -> asyncio.Future[PublishAck]:
        """Have JetStream write `event` into the log at `at`; replaces a timer of the same
        id. `key`: the arming's dedupe key (armed again with it, the timer is not)."""
        headers: dict[str, str] = {
            Header.SCHEDULE: f"@at {_at(at)}",
            Header.SCHEDULE_TARGET: exec_subject(execution_id),
        }
        if key:
            headers[Header.MSG_ID] = key
        return await self.publisher.publish(
            timer_subject(execution_id, timer_id), encode(event), headers
        )

    async def timer_pending(self, execution_id: str, timer_id: str) -> bool:
        """Whether the timer's schedule is stored (armed, not fired: a fired one is removed
        as its event is stored), as the stream's leader holds it."""
        subject = timer_subject(execution_id, timer_id)
        return await _leader_get(self.nc, {"last_by_subj": subject}) is not None

    async def cancel_timer(self, execution_id: str, timer_id: str) -> None:
        """Drop one pending timer."""
        await self.js.purge_stream(EXEC_STREAM, subject=timer_subject(execution_id, timer_id))

    async def cancel_timers(self, execution_id: str) -> None:
        """Drop every pending timer of the execution."""
        await self.js.purge_stream(EXEC_STREAM, subject=timer_wildcard(execution_id))

    async def read_raw(
        self,
        execution_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        through: int = 0,
    ) -> list[RawRecord]:
        """Every stored `(seq, payload)` of the execution after `after_seq`, in order.

        Batched direct gets, with `through` as in `read_stored`: a read through the
        sequence of a message of this log includes it and everything before it. The
        executors' log reads only the execution's outcome subject (`_read_outcomes`).
        """
        if self._outcomes:
            return await self._read_outcomes(execution_id, after_seq, limit)
        entries = await self.read_log(execution_id, after_seq, through, limit, admissible_only=True)
        return [(entry.seq, entry.data) for entry in entries]

    async def read_log(
        self,
        execution_id: str,
        after_seq: int = 0,
        through: int = 0,
        limit: int | None = None,
        admissible_only: bool = False,
    ) -> list[LogEntry]:
        """Every stored message of the execution after `after_seq`, in order, as the hash
        chain covers them: forged outcomes included, with subject kind and chain stamp
        (see `read_raw` for `through`; not for the executors' log)."""
        read = await read_stored(
            self.nc,
            log_subjects(execution_id),
            after_seq,
            through=through,
            limit=limit,
            keep=admissible if admissible_only else None,
        )
        return [LogEntry(seq, log_kind(stored), data, chain) for seq, stored, data, chain in read]

    async def last_seq(self, execution_id: str) -> int:
        """The sequence of the log's last message (0 for none), as the stream's leader
        holds it: with `read_raw(through=...)`, a read of the whole log as of now."""
        answer = await _leader_get(self.nc, {"last_by_subj": log_subjects(execution_id)})
        return 0 if answer is None else int(answer["seq"])

    async def _read_outcomes(
        self, execution_id: str, after_seq: int, limit: int | None
    ) -> list[RawRecord]:
        """The outcome subject's records, through a short-lived consumer filtered on it.

        Direct gets cannot be limited by subject in the server's permissions; a consumer
        created with its filter in the API subject can, so the executors' identity may
        read outcome subjects and nothing else of a log.
        """
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        try:
            start = after_seq + 1 if after_seq else None
            info = await self.js.add_consumer(
                EXEC_STREAM,
                ConsumerConfig(
                    name=f"x{secrets.token_hex(8)}",
                    filter_subject=stored_outcome_subject(execution_id),
                    deliver_subject=inbox,
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start else DeliverPolicy.ALL,
                    opt_start_seq=start,
                    ack_policy=AckPolicy.NONE,
                    inactive_threshold=5.0,  # gone soon after this read unsubscribes
                    mem_storage=True,
                    num_replicas=1,
                ),
            )
            records: list[RawRecord] = []
            left = info.num_pending
            while left and (limit is None or len(records) < limit):
                try:
                    msg = await sub.next_msg(timeout=5.0)
                except nats.errors.TimeoutError:
                    raise TimeoutError(
                        f"reading the outcomes of {execution_id} timed out"
                    ) from None
                meta = msg.metadata
                left = meta.num_pending
                if admissible(msg.subject, msg.data):
                    records.append((meta.sequence.stream, msg.data))
            return records
        finally:
            await sub.unsubscribe()

    async def read(
        self, execution_id: str, after_seq: int = 0, through: int = 0
    ) -> list[tuple[int, Event]]:
        """The execution's decoded events after `after_seq` (see `read_raw`)."""
        return [
            (seq, decode_event(data))
            for seq, data in await self.read_raw(execution_id, after_seq, None, through)
        ]

    async def read_existing(self, execution_id: str) -> list[tuple[int, Event]]:
        """Like `read`, but raises `ExecutionNotFoundError` when there is no log."""
        records = await self.read(execution_id)
        if not records:
            raise ExecutionNotFoundError(execution_id)
        return records

    async def ending(self, execution_id: str) -> tuple[bool, TerminalEvent | None]:
        """`(exists, terminal event or None)`.

        The terminal event need not be the last one: late results and children's reports
        can follow it, so the whole log is scanned.
        """
        records = await self.read(execution_id)
        for _, event in records:
            if isinstance(event, TERMINAL_EVENTS):
                return True, event
        return bool(records), None

    async def execution_ids(self) -> list[str]:
        """Every execution with a log, oldest first (ids sort by start time)."""
        info = await self.js.stream_info(EXEC_STREAM, subjects_filter=stored_event_wildcard())
        subjects = info.state.subjects or {}
        return sorted(execution_of(s) for s in subjects)


async def tail(
    nc: Client, execution_id: str, after_seq: int = 0, idle_timeout: float | None = None
) -> AsyncIterator[tuple[int, Event]]:
    """Yield the execution's events after `after_seq`, then live ones, until the terminal one.

    Uses an ordered consumer, so nothing is missed or repeated between history and live.
    """
    js = nc.jetstream()
    deliver = DeliverPolicy.BY_START_SEQUENCE if after_seq else DeliverPolicy.ALL
    sub = await js.subscribe(
        log_subjects(execution_id),
        ordered_consumer=True,
        deliver_policy=deliver,
        config=ConsumerConfig(opt_start_seq=after_seq + 1 if after_seq else None),
    )
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_timeout or 3600.0)
            except nats.errors.TimeoutError:
                if idle_timeout is not None:
                    raise TimeoutError(f"no event for {idle_timeout}s") from None
                continue
            if not admissible(msg.subject, msg.data):
                continue
            event = decode_event(msg.data)
            yield msg.metadata.sequence.stream, event
            if isinstance(event, TERMINAL_EVENTS):
                return
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
