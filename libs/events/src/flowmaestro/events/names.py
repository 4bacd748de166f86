"""Every stream, subject, consumer, bucket and header name FlowMaestro uses.

No other module spells these strings; services build them through the functions here.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

__all__ = [
    "CACHE_BUCKET",
    "CMD_STREAM",
    "CONCAT_KEY",
    "EXEC_STREAM",
    "FILE_BUCKET",
    "INTEGRATION_BUCKET",
    "LIMIT_BUCKET",
    "OUTPUT_BUCKET",
    "OUTPUT_PATH_KEY",
    "OUTPUT_REF_KEY",
    "PROJECTOR_CONSUMER",
    "SCHEDULER_CONSUMER",
    "Header",
    "cancel_subject",
    "cancel_wildcard",
    "command_subject",
    "command_wildcard",
    "control_key",
    "end_key",
    "event_wildcard",
    "exec_subject",
    "exec_wildcard",
    "execution_of",
    "execution_of_output",
    "executor_consumer",
    "is_valid_token",
    "live_subject",
    "live_wildcard",
    "log_subjects",
    "node_timer_id",
    "output_object",
    "owned_cache_key",
    "owned_file_name",
    "owner_scope",
    "record_subject",
    "result_key",
    "timer_subject",
    "timer_wildcard",
]

EXEC_STREAM = "FM_EXEC"
"""Stream holding every execution log (one subject per execution) and its timers."""

CMD_STREAM = "FM_CMD"
"""Work-queue stream of node commands, one subject per node type."""

OUTPUT_BUCKET = "FM_OUTPUTS"
"""Object store bucket for node outputs too large to travel inside an event."""

OUTPUT_REF_KEY = "$fm.output_ref"
"""Key of a stored-output marker in commands and events: `{"$fm.output_ref": NAME,
"$fm.path": [...]}` stands for (a part of) the output stored under NAME."""
OUTPUT_PATH_KEY = "$fm.path"
"""Key of the path into a stored output, beside `OUTPUT_REF_KEY` (absent: the whole)."""
CONCAT_KEY = "$fm.concat"
"""Key of a text marker: `{"$fm.concat": [part, ...]}`, text parts and stored-output
markers to be joined once the markers are read (a large output inside a template)."""

FILE_BUCKET = "FM_FILES"
"""Object store bucket for files: uploads that nodes read by id, and files nodes make
or keep (generated audio and images, collections)."""

INTEGRATION_BUCKET = "FM_INTEGRATIONS"
"""Key-value bucket mirroring integrations (credentials sealed) for executors."""

CACHE_BUCKET = "FM_CACHE"
"""Key-value bucket of memoised node results."""

LIMIT_BUCKET = "FM_LIMITS"
"""Key-value bucket of shared rate-limit counters and concurrency leases."""

SCHEDULER_CONSUMER = "scheduler"
PROJECTOR_CONSUMER = "projector"
"""The gateway's durable consumer that projects execution logs into PostgreSQL."""

_PREFIX = "fm"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class Header(StrEnum):
    """NATS header names used on appends and commands."""

    MSG_ID = "Nats-Msg-Id"
    EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
    EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
    SCHEDULE = "Nats-Schedule"
    SCHEDULE_TARGET = "Nats-Schedule-Target"
    STATUS = "Status"
    DESCRIPTION = "Description"
    SEQUENCE = "Nats-Sequence"
    SUBJECT = "Nats-Subject"
    NUM_PENDING = "Nats-Num-Pending"
    PENDING_MESSAGES = "Nats-Pending-Messages"
    TRACEPARENT = "traceparent"


def is_valid_token(value: str) -> bool:
    """True when `value` can stand as one subject token (no dots, spaces or wildcards)."""
    return bool(_TOKEN.match(value))


def _token(value: str) -> str:
    if not is_valid_token(value):
        raise ValueError(f"not a valid subject token: {value!r}")
    return value


# An execution's log is the subtree `fm.exec.<id>.>`: its events on `fm.exec.<id>.e`, and
# the scheduler's records of the commands it sends (`node.scheduled`) on `fm.exec.<id>.r`,
# which the scheduler's consumer leaves out: it knows what it sent.


def exec_subject(execution_id: str) -> str:
    """The subject of one execution's events: what the scheduler folds and acts on."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.e"


def record_subject(execution_id: str) -> str:
    """The subject of the scheduler's dispatch records in one execution's log."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.r"


def log_subjects(execution_id: str) -> str:
    """Matches every subject of one execution's log."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.>"


def event_wildcard() -> str:
    """Matches the event subject of every execution (the scheduler's filter)."""
    return f"{_PREFIX}.exec.*.e"


def exec_wildcard() -> str:
    """Matches every subject of every execution log."""
    return f"{_PREFIX}.exec.>"


def result_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of a node attempt's one result (`node.completed` or `node.failed`)."""
    return f"{execution_id}:{node_id}:{attempt}:result"


def end_key(execution_id: str) -> str:
    """The dedupe key of an execution's one terminal event."""
    return f"{execution_id}:end"


def control_key(execution_id: str, action: str, nth: int = 0) -> str:
    """The dedupe key of a person's `action` on an execution (`cancel`, `pause`, `resume`);
    `nth` counts earlier ones of the same action, so a retried request is written once."""
    return f"{execution_id}:{action}" if action == "cancel" else f"{execution_id}:{action}:{nth}"


def output_object(owner_id: str | None, execution_id: str, node_id: str, attempt: int) -> str:
    """The object-store name of a node attempt's large output, inside its owner's scope."""
    return f"{owner_scope(owner_id)}/{_token(execution_id)}/{_token(node_id)}/{attempt}"


def execution_of_output(name: str) -> str:
    """The execution an object-store output name belongs to ("" for a malformed name)."""
    parts = name.split("/")
    return parts[1] if len(parts) == 4 else ""


def execution_of(subject: str) -> str:
    """The execution id in a log subject."""
    return subject.split(".", 3)[2]


def timer_subject(execution_id: str, timer_id: str) -> str:
    """The schedule subject of one timer; purging it cancels the timer."""
    return f"{_PREFIX}.timer.{_token(execution_id)}.{_token(timer_id)}"


def timer_wildcard(execution_id: str | None = None) -> str:
    """Matches the timer subjects of one execution, or of every execution."""
    return f"{_PREFIX}.timer.{_token(execution_id) if execution_id else '*'}.*"


def node_timer_id(node_id: str, attempt: int) -> str:
    """The timer that completes (or fails) a parked node attempt: wait, deadlines."""
    return f"{_token(node_id)}-{attempt}-wait"


def command_subject(node_type: str) -> str:
    """The work-queue subject of one node type's commands."""
    return f"{_PREFIX}.cmd.{_token(node_type)}"


def command_wildcard() -> str:
    """Matches every command subject."""
    return f"{_PREFIX}.cmd.*"


def executor_consumer(node_type: str) -> str:
    """The durable pull consumer shared by one node type's executor pool."""
    return f"exec-{_token(node_type)}"


def live_subject(execution_id: str, node_id: str) -> str:
    """Plain (not durable) subject for live chunks such as LLM tokens."""
    return f"{_PREFIX}.live.{_token(execution_id)}.{_token(node_id)}"


def live_wildcard(execution_id: str) -> str:
    """Matches every live chunk subject of one execution."""
    return f"{_PREFIX}.live.{_token(execution_id)}.*"


def cancel_subject(execution_id: str) -> str:
    """Plain subject telling executors to stop work for a cancelled execution."""
    return f"{_PREFIX}.ctl.cancel.{_token(execution_id)}"


def cancel_wildcard() -> str:
    """Matches every cancel notice."""
    return f"{_PREFIX}.ctl.cancel.*"


# Everything a node keeps (files it makes, collections, cached results, large outputs) is
# named under its owner's scope, so a name written by one tenant never reaches another's.

_LOCAL_OWNER = "_local"


def owner_scope(owner_id: str | None) -> str:
    """The name segment of one owner's objects; `_local` for runs without an owner."""
    if owner_id is None:
        return _LOCAL_OWNER
    if is_valid_token(owner_id) and owner_id != _LOCAL_OWNER:
        return owner_id
    # An id that cannot stand as a name segment still gets a scope of its own.
    return "h-" + hashlib.sha256(owner_id.encode()).hexdigest()[:32]


def owned_file_name(owner_id: str | None, name: str) -> str:
    """Where a file a node names `name` is kept in the file bucket, inside its owner's scope."""
    return f"owners/{owner_scope(owner_id)}/{name}"


def owned_cache_key(owner_id: str | None, memo: str) -> str:
    """The node-cache key of a memoised result, inside its owner's scope."""
    return f"{owner_scope(owner_id)}.{memo}"
