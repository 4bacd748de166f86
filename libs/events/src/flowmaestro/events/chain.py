"""The hash chain that makes an execution log tamper-evident.

The chain runs over every message of one execution's log (`fm.exec.<id>.>`: events,
outcomes and dispatch records, whoever wrote them) in stream order. Each message adds
`link(head, sha256(kind, payload))`, where `kind` is its log subject's kind token (`e`,
`x` or `r`) and `payload` its exact bytes; the chain starts from a value made from the
execution id, so a log copied under another id does not verify. Headers are not covered.

Several parties write a log, and only the scheduler folds all of it in order, so the
scheduler is the one that stamps: every event and record it appends to an execution's
own log carries the header `FlowMaestro-Chain: <count>:<hex>`, where `count` is how many
messages of the log it had folded (its chain covers the first `count` messages) and
`hex` is the chain over those messages followed by the stamped message itself. A stamp
thus vouches for everything before the point it names and for its own message; starts,
outcomes and answers are vouched for by the next scheduler stamp, and the terminal event
vouches for the whole run.

`verify_chain` walks a log and checks every stamp; see its docstring for what fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import msgspec

from flowmaestro.events.codec import decode_event
from flowmaestro.events.errors import CodecError
from flowmaestro.events.events import (
    TERMINAL_EVENTS,
    ChildFinished,
    ChildStarted,
    ExecutionCancelRequested,
    ExecutionPauseRequested,
    ExecutionResumed,
    NodeCompleted,
    NodeFailed,
    NodeRetryDue,
)
from flowmaestro.events.names import chain_stamp

__all__ = [
    "CHAIN_VERSION",
    "ChainHead",
    "ChainReport",
    "LogEntry",
    "genesis",
    "message_digest",
    "parse_stamp",
    "verify_chain",
]

CHAIN_VERSION = 1
"""Part of the chain's starting value; a change of what is hashed gets a new version."""

_LATE_KINDS = frozenset({"x"})
"""Subjects whose messages may legitimately land after the terminal event (late
outcomes of nodes still running when a run was cancelled or failed)."""
_LATE_EVENTS = (
    ChildStarted,
    ChildFinished,
    NodeRetryDue,
    NodeCompleted,
    NodeFailed,
    ExecutionCancelRequested,
    ExecutionPauseRequested,
    ExecutionResumed,
)
"""Events others may still append after the end, which the fold ignores: a child's link
and report (another execution's scheduler), a timer that fired as the run ended, a
person's request that crossed the end. Only the scheduler writes the rest (terminal
events, skips, retries, records), and it writes nothing after the end."""


_KINDS = {kind: hashlib.sha256(kind.encode() + b"\x00") for kind in ("e", "x", "r")}


def message_digest(kind: str, data: bytes) -> bytes:
    """The digest of one message: its subject kind and its exact payload bytes."""
    started = _KINDS.get(kind)
    hasher = started.copy() if started else hashlib.sha256(kind.encode() + b"\x00")
    hasher.update(data)
    return hasher.digest()


def _link(head: bytes, digest: bytes) -> bytes:
    return hashlib.sha256(head + digest).digest()


class ChainHead(msgspec.Struct, frozen=True, array_like=True):
    """The chain over a log's first `count` messages, the last of them at `through`."""

    through: int
    """The stream sequence of the last message covered (0: none yet)."""
    count: int
    digest: bytes

    def extend(self, seq: int, digest: bytes) -> ChainHead:
        """The chain with the message at `seq` (digest from `message_digest`) added."""
        return ChainHead(seq, self.count + 1, _link(self.digest, digest))

    def stamp(self, digest: bytes) -> str:
        """The header value of a message appended now (`digest`: its `message_digest`):
        this chain's count and digest, and the chain with that message added (the two
        halves fail apart, so a verifier tells a changed stamped message from a change
        before it)."""
        return chain_stamp(self.count, self.digest.hex(), _link(self.digest, digest).hex())


def genesis(execution_id: str) -> ChainHead:
    """The chain of an execution's log before its first message."""
    seed = f"flowmaestro-chain-v{CHAIN_VERSION}\x00{execution_id}".encode()
    return ChainHead(0, 0, hashlib.sha256(seed).digest())


def parse_stamp(value: str) -> tuple[int, bytes, bytes] | None:
    """`(count, prefix digest, own digest)` of a stamp header, or None when malformed."""
    parts = value.split(":")
    if len(parts) != 3:
        return None
    try:
        count, prefix, own = int(parts[0]), bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    return (count, prefix, own) if count >= 0 and len(prefix) == len(own) == 32 else None


class LogEntry(msgspec.Struct, frozen=True, array_like=True):
    """One stored message as the verifier reads it."""

    seq: int
    kind: str
    """The subject's kind token: `e` events, `x` outcomes, `r` dispatch records."""
    data: bytes
    stamp: str | None = None


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """What `verify_chain` found."""

    execution_id: str
    ok: bool
    messages: int
    stamps: int
    ended: bool
    """A terminal event is in the log."""
    verified_through: int
    """The stream sequence up to which every message is vouched for by a good stamp."""
    first_bad_seq: int | None = None
    """The first message the chain no longer vouches for (the earliest it can point at:
    a message changed or removed, or the message after a removed one)."""
    detected_at_seq: int | None = None
    """The message whose stamp (or absence of one) showed the break."""
    reason: str | None = None
    uncovered: list[int] = []
    """Messages after the last stamp's reach: a running execution's newest messages, or
    late outcomes and children's reports after the end."""
    head: str = ""
    """The chain over every message read (to compare with a copy kept elsewhere)."""


def verify_chain(execution_id: str, entries: Iterable[LogEntry]) -> ChainReport:
    """Check every stamp of one execution's log (all its messages, in stream order).

    Fails on: a stamp that does not match (a message before the point it names, or the
    stamped message itself, was changed, removed or added); a malformed stamp or one
    naming a point after its own message; a dispatch record or terminal event without a
    stamp (only the scheduler writes those, and it stamps them); after the terminal
    event, anything but a late outcome or one of `_LATE_EVENTS`; a log with records or
    an end but no stamp at all (written before the chain existed, or stripped).
    """
    log = list(entries)
    heads = [genesis(execution_id)]
    digests: list[bytes] = []
    for entry in log:
        digest = message_digest(entry.kind, entry.data)
        digests.append(digest)
        heads.append(heads[-1].extend(entry.seq, digest))
    confirmed = [False] * len(log)
    good_prefix = 0
    failure: tuple[int, int, str] | None = None  # (index, first suspect, reason)
    stamps = 0
    terminal: int | None = None
    for i, entry in enumerate(log):
        if terminal is None and entry.kind == "e" and _is_terminal(entry.data):
            terminal = i
        if entry.stamp is None:
            if failure is None and (entry.kind == "r" or terminal == i):
                failure = (i, i, "a message only the scheduler writes carries no stamp")
            continue
        stamps += 1
        parsed = parse_stamp(entry.stamp)
        if parsed is None or parsed[0] > i:
            if failure is None and parsed is None:
                failure = (i, i, "malformed stamp")
            elif failure is None:
                failure = (i, -i, "messages before this stamp's point were removed")
            continue
        count, prefix, own = parsed
        prefix_ok = heads[count].digest == prefix
        own_ok = _link(prefix, digests[i]) == own
        if prefix_ok:
            good_prefix = max(good_prefix, count)
            confirmed[i] = own_ok
        if failure is None and not prefix_ok:
            failure = (i, -count, "the log before this stamp's point was changed")
        elif failure is None and not own_ok:
            failure = (i, i, "the stamped message was changed")
    for i in range(good_prefix):
        confirmed[i] = True
    reach = max((i + 1 for i, c in enumerate(confirmed) if c), default=0)
    uncovered = [log[i].seq for i in range(reach, len(log))]
    if failure is None and terminal is not None:
        for i in range(terminal + 1, len(log)):
            if log[i].kind not in _LATE_KINDS and not _is_late_event(log[i].data):
                failure = (i, i, "a message after the end")
                break
    unstamped = terminal is not None or any(entry.kind == "r" for entry in log)
    if failure is None and not stamps and unstamped:
        failure = (0, 0, "the log carries no stamps")
    verified = next((i for i, c in enumerate(confirmed) if not c), len(log))
    common = {
        "execution_id": execution_id,
        "messages": len(log),
        "stamps": stamps,
        "ended": terminal is not None,
        "verified_through": log[verified - 1].seq if verified else 0,
        "uncovered": uncovered,
        "head": heads[-1].digest.hex(),
    }
    if failure is None:
        return ChainReport(ok=True, **common)
    index, suspect, reason = failure
    # a broken prefix (suspect = -count): the first message of it no good stamp vouches for
    suspects = range(-suspect) if suspect < 0 else [suspect]
    first_bad = next((j for j in suspects if not confirmed[j]), index)
    return ChainReport(
        ok=False,
        first_bad_seq=log[first_bad].seq,
        detected_at_seq=log[index].seq,
        reason=reason,
        **common,
    )


def _decoded(data: bytes) -> object:
    try:
        return decode_event(data)
    except CodecError:
        return None


def _is_terminal(data: bytes) -> bool:
    return isinstance(_decoded(data), TERMINAL_EVENTS)


def _is_late_event(data: bytes) -> bool:
    return isinstance(_decoded(data), _LATE_EVENTS)
