"""Every stream, subject, consumer, bucket and header name FlowMaestro uses.

No other module spells these strings; services build them through the functions here.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "CACHE_BUCKET",
    "CHILD_RESULT_BUCKET",
    "CMD_STREAM",
    "CONCAT_KEY",
    "EVENT_STREAM",
    "EXEC_STREAM",
    "FILE_BUCKET",
    "INTEGRATION_BUCKET",
    "LIMIT_BUCKET",
    "OUTPUT_BUCKET",
    "OUTPUT_PATH_KEY",
    "OUTPUT_REF_KEY",
    "PROBE_QUEUE",
    "PROJECTOR_CONSUMER",
    "SCHEDULER_CONSUMER",
    "SCHEDULER_GROUP",
    "SCHEDULER_PARTITIONS",
    "SCHEDULER_PRESENCE",
    "SNAPSHOT_BUCKET",
    "TRIGGER_STREAM",
    "Header",
    "LiveMessage",
    "TriggerHeader",
    "answer_key",
    "batch_execution_id",
    "call_key",
    "cancel_subject",
    "cancel_wildcard",
    "chain_stamp",
    "child_execution_id",
    "child_prefix",
    "command_key",
    "command_subject",
    "command_wildcard",
    "control_key",
    "end_key",
    "event_wildcard",
    "exec_subject",
    "exec_wildcard",
    "execute_key",
    "execution_of",
    "execution_of_output",
    "executor_consumer",
    "finished_key",
    "is_outcome_subject",
    "is_scheduler_input",
    "is_valid_token",
    "linked_key",
    "live_any",
    "live_subject",
    "live_wildcard",
    "log_kind",
    "log_subjects",
    "node_timer_id",
    "outcome_subject",
    "outcome_wildcard",
    "output_object",
    "owned_cache_key",
    "owned_file_name",
    "owner_scope",
    "partition_filters",
    "partition_transform",
    "partition_wildcard",
    "probe_subject",
    "record_key",
    "record_subject",
    "record_wildcard",
    "reported_key",
    "result_key",
    "retry_timer_id",
    "retry_timer_key",
    "retrying_key",
    "scheduled_key",
    "scheduler_partition",
    "skipped_key",
    "started_key",
    "stop_key",
    "stored_event_subject",
    "stored_event_wildcard",
    "stored_outcome_subject",
    "tenant_event_consumer",
    "tenant_event_filter",
    "tenant_event_msg_id",
    "tenant_event_owner",
    "tenant_event_subject",
    "tenant_event_wildcard",
    "timer_subject",
    "timer_wildcard",
    "trigger_execution_id",
    "trigger_fire_consumer",
    "trigger_fire_subject",
    "trigger_fire_wildcard",
    "trigger_schedule_subject",
    "trigger_schedule_wildcard",
    "wait_timer_key",
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

CHILD_RESULT_BUCKET = "FM_CHILD_RESULTS"
"""Key-value bucket where the scheduler leaves the end of an agent's tool-call child
(key: the child's execution id), which the agent's executor awaits: executors may not
read execution logs beyond the outcome subjects."""
TRIGGER_STREAM = "FM_TRIGGERS"
"""Stream of trigger schedules (one schedule subject per cron trigger) and their fires."""

EVENT_STREAM = "FM_EVENTS"
"""Stream of messages published into tenants' event namespaces (event triggers)."""

SNAPSHOT_BUCKET = "FM_SNAPSHOTS"
"""Object store bucket of snapshots of folded execution states (key: the execution id),
which only the scheduler reads and writes: a long execution is recovered from its
snapshot plus the log after it (see `flowmaestro.runtime.snapshots`)."""

SCHEDULER_CONSUMER = "scheduler"
"""The scheduler's consumer of the in-memory log (one partition)."""

SCHEDULER_PARTITIONS = 12
"""How many partitions the execution logs are spread over for the schedulers: each
execution's subjects end in its partition (`partition(12, id)`, computed by the stream's
subject transform), each partition has its own durable consumer, and JetStream pins each
consumer to one scheduler replica. Fixed once the stream exists (12 divides evenly among
1, 2, 3, 4 and 6 replicas)."""

SCHEDULER_GROUP = "schedulers"
"""The priority group (policy `pinned_client`) of every scheduler partition consumer."""

SCHEDULER_PRESENCE = "scheduler-presence"
"""A consumer that delivers nothing: each scheduler replica keeps one pull request waiting
on it, so its `num_waiting` counts the replicas (to share the partitions out evenly)."""
PROJECTOR_CONSUMER = "projector"
"""The gateway's durable consumer that projects execution logs into PostgreSQL."""

_PREFIX = "fm"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class Header(StrEnum):
    """NATS header names used on appends, commands and pulls."""

    MSG_ID = "Nats-Msg-Id"
    EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
    EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
    SCHEDULE = "Nats-Schedule"
    SCHEDULE_TARGET = "Nats-Schedule-Target"
    SCHEDULE_TIME_ZONE = "Nats-Schedule-Time-Zone"
    SCHEDULER = "Nats-Scheduler"
    """On a fired message: the schedule subject that fired it."""
    SCHEDULE_NEXT = "Nats-Schedule-Next"
    """On a fired message: when its schedule fires next."""
    STATUS = "Status"
    DESCRIPTION = "Description"
    SEQUENCE = "Nats-Sequence"
    SUBJECT = "Nats-Subject"
    NUM_PENDING = "Nats-Num-Pending"
    PENDING_MESSAGES = "Nats-Pending-Messages"
    TRACEPARENT = "traceparent"
    PIN_ID = "Nats-Pin-Id"
    CHAIN = "FlowMaestro-Chain"
    """On the scheduler's appends to a log: `<count>:<hex>`, see `events.chain`."""


class TriggerHeader(StrEnum):
    """Default HTTP header names of webhook triggers (each trigger may name its own)."""

    SIGNATURE = "X-FlowMaestro-Signature"
    """`sha256=<hex HMAC-SHA256>` of `<timestamp>.<body>` (or of the body, without one)."""
    TIMESTAMP = "X-FlowMaestro-Timestamp"
    """Seconds since the epoch when the request was signed (the replay window)."""
    IDEMPOTENCY_KEY = "Idempotency-Key"
    """An unsigned request's own key: a repeat of it starts no second run."""


class LiveMessage(StrEnum):
    """The `type` of every message of the live tail (SSE and WebSocket), both ways.

    Clients match on these strings, so none may change spelling.
    """

    EXECUTION_STARTED = "execution:started"
    EXECUTION_COMPLETED = "execution:completed"
    EXECUTION_FAILED = "execution:failed"
    EXECUTION_CANCELLED = "execution:cancelled"
    EXECUTION_PAUSED = "execution:paused"
    EXECUTION_RESUMED = "execution:resumed"
    EXECUTION_PROGRESS = "execution:progress"
    BATCH_PROGRESS = "batch:progress"
    BATCH_ENDED = "batch:ended"
    NODE_STARTED = "node:started"
    NODE_COMPLETED = "node:completed"
    NODE_FAILED = "node:failed"
    NODE_RETRY = "node:retry"
    NODE_SKIPPED = "node:skipped"
    NODE_STREAM = "node:stream"
    USER_INPUT_REQUIRED = "user:input:required"
    USER_INPUT_RESPONSE = "user:input:response"
    CONNECTION_ESTABLISHED = "connection:established"
    SUBSCRIBE = "subscribe"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBE = "unsubscribe"
    UNSUBSCRIBED = "unsubscribed"
    PING = "ping"
    PONG = "pong"
    ERROR = "error"


def is_valid_token(value: str) -> bool:
    """True when `value` can stand as one subject token (no dots, spaces or wildcards)."""
    return bool(_TOKEN.match(value))


def _token(value: str) -> str:
    if not is_valid_token(value):
        raise ValueError(f"not a valid subject token: {value!r}")
    return value


# An execution's log is the subtree `fm.exec.<id>.>`: its events on `fm.exec.<id>.e`, what
# executors append (node outcomes) on `fm.exec.<id>.x`, and the scheduler's records of the
# commands it sends (`node.scheduled`) on `fm.exec.<id>.r`, which the scheduler's consumer
# leaves out: it knows what it sent. Executors may publish only to `.x`, so they cannot
# start, end or steer an execution (see `events.admissible_outcome`).
#
# Those are the subjects published to. The stream stores each under its partition, one
# more token: `fm.exec.<id>.e` is stored as `fm.exec.<id>.e.<partition>` (see
# `partition_transform`). Reads of a whole log (`fm.exec.<id>.>`) see no difference; a
# filter on one kind of subject uses the stored form (`stored_event_wildcard`, ...).


def exec_subject(execution_id: str) -> str:
    """The subject of one execution's events: what the scheduler folds and acts on."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.e"


def record_subject(execution_id: str) -> str:
    """The subject of the scheduler's dispatch records in one execution's log."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.r"


def record_wildcard() -> str:
    """Matches the dispatch-record subject of every execution."""
    return f"{_PREFIX}.exec.*.r"


def outcome_subject(execution_id: str) -> str:
    """The subject executors append one execution's node outcomes to."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.x"


def outcome_wildcard() -> str:
    """Matches the outcome subject of every execution (executors' publish permission)."""
    return f"{_PREFIX}.exec.*.x"


def stored_event_subject(execution_id: str) -> str:
    """Matches the stored event subject of one execution (under its partition)."""
    return f"{exec_subject(execution_id)}.*"


def stored_outcome_subject(execution_id: str) -> str:
    """Matches the stored outcome subject of one execution (under its partition)."""
    return f"{outcome_subject(execution_id)}.*"


def is_scheduler_input(subject: str) -> bool:
    """True for a log subject the scheduler folds (events and outcomes, not records)."""
    parts = subject.split(".", 5)
    return len(parts) > 3 and parts[3] in ("e", "x") and parts[1] == "exec" and parts[0] == _PREFIX


def is_outcome_subject(subject: str) -> bool:
    """True for a subject executors append to (as published, or as stored)."""
    parts = subject.split(".", 5)
    return len(parts) > 3 and parts[3] == "x" and parts[1] == "exec" and parts[0] == _PREFIX


def log_kind(subject: str) -> str:
    """The kind token of a log subject (as published or as stored): `e` events, `x`
    outcomes, `r` dispatch records ("" for a subject outside every log)."""
    parts = subject.split(".", 5)
    return parts[3] if len(parts) > 3 and parts[1] == "exec" and parts[0] == _PREFIX else ""


def log_subjects(execution_id: str) -> str:
    """Matches every subject of one execution's log."""
    return f"{_PREFIX}.exec.{_token(execution_id)}.>"


def event_wildcard() -> str:
    """Matches the event subject of every execution (the scheduler's filter)."""
    return f"{_PREFIX}.exec.*.e"


def stored_event_wildcard() -> str:
    """Matches the stored event subject of every execution (any partition)."""
    return f"{_PREFIX}.exec.*.e.*"


def exec_wildcard() -> str:
    """Matches every subject of every execution log."""
    return f"{_PREFIX}.exec.>"


def partition_transform(partitions: int) -> tuple[str, str]:
    """The stream's subject transform `(source, destination)`: every log subject gets its
    execution's partition appended (JetStream hashes the id token)."""
    return (
        f"{_PREFIX}.exec.*.*",
        f"{_PREFIX}.exec.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{partition({partitions},1)}}}}",
    )


def partition_filters(partition: int) -> list[str]:
    """What a scheduler partition consumer delivers: the partition's events and outcomes."""
    return [f"{_PREFIX}.exec.*.e.{partition}", f"{_PREFIX}.exec.*.x.{partition}"]


def partition_wildcard(partition: int) -> str:
    """Every stored log subject of one partition (events, outcomes, records)."""
    return f"{_PREFIX}.exec.*.*.{partition}"


def scheduler_partition(partition: int) -> str:
    """The durable consumer of one scheduler partition."""
    return f"scheduler-p{partition}"


# Dedupe keys: the `Nats-Msg-Id` of every append, so a retried write lands once. They are
# deterministic (made from ids and attempts only) and recorded in every log, so none of
# them may ever change spelling: replaying an old log depends on the same keys coming back.


def command_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The idempotency key of a node attempt, carried by its command to the executor."""
    return f"{execution_id}:{node_id}:{attempt}"


def scheduled_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of a node attempt's `node.scheduled` record."""
    return f"{command_key(execution_id, node_id, attempt)}:scheduled"


def execute_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of a node attempt's command on the work queue."""
    return f"{command_key(execution_id, node_id, attempt)}:execute"


def result_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of a node attempt's one result (`node.completed` or `node.failed`)."""
    return f"{command_key(execution_id, node_id, attempt)}:result"


def answer_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of an answer to a waiting node: one answer per node attempt."""
    return f"{command_key(execution_id, node_id, attempt)}:answer"


def retrying_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of the `node.retrying` that announces `attempt` (the next one)."""
    return f"{command_key(execution_id, node_id, attempt)}:retrying"


def retry_timer_key(execution_id: str, node_id: str, attempt: int) -> str:
    """The dedupe key of the timer that makes a retrying node due after `attempt` failed."""
    return f"{command_key(execution_id, node_id, attempt)}:retry-timer"


def wait_timer_key(execution_id: str, timer_id: str, at: datetime) -> str:
    """The dedupe key of arming a parked attempt's timer (`node_timer_id`) for one time:
    armed again for the same time (its wait handled again, even one a consumer hands as
    if for the first time after a server's restart), it is stored once and fires once."""
    return f"{execution_id}:{timer_id}:at:{at.astimezone(UTC).isoformat()}"


def skipped_key(execution_id: str, node_id: str) -> str:
    """The dedupe key of a node's one `node.skipped` (a node is skipped at most once)."""
    return f"{execution_id}:{node_id}:skipped"


def record_key(idempotency_key: str, key: str) -> str:
    """The dedupe key of a value a node attempt records under `key` (`node.progress`)."""
    return f"{idempotency_key}:rec:{key}"


def call_key(idempotency_key: str, suffix: str) -> str:
    """The idempotency key of one outside call (`suffix`) made within a node attempt, so a
    far side that honours keys tells the attempt's calls apart."""
    return f"{idempotency_key}:{suffix}"


def started_key(execution_id: str) -> str:
    """The dedupe key of an execution's first event, `execution.started`."""
    return f"{execution_id}:started"


def end_key(execution_id: str) -> str:
    """The dedupe key of an execution's one terminal event."""
    return f"{execution_id}:end"


def stop_key(execution_id: str) -> str:
    """The key of the scheduler's one stop (timers purged, executors told) of an execution."""
    return f"{execution_id}:stop"


def control_key(execution_id: str, action: str, nth: int = 0) -> str:
    """The dedupe key of an `action` on an execution (`cancel`, `pause`, `resume`), by a
    person or, for `cancel`, by a parent stopping its child; `nth` counts earlier ones of
    the same action, so a retried request is written once (an execution is cancelled once)."""
    return f"{execution_id}:{action}" if action == "cancel" else f"{execution_id}:{action}:{nth}"


def linked_key(child_execution_id: str) -> str:
    """The dedupe key, in the parent's log, of the `child.started` linking a child."""
    return f"{child_execution_id}:linked"


def finished_key(execution_id: str) -> str:
    """The dedupe key, in the parent's log, of a child's one `child.finished` report."""
    return f"{execution_id}:finished"


def reported_key(child_execution_id: str) -> str:
    """The dedupe key of a tool-call child's result, left for the executor awaiting it."""
    return f"{child_execution_id}:reported"


def chain_stamp(count: int, prefix: str, own: str) -> str:
    """The value of a `FlowMaestro-Chain` header: how many messages of the log the
    chain covers, its digest over them and its digest with the stamped message added
    (hex; see `events.chain`). Recorded in every log, so it may never change spelling."""
    return f"{count}:{prefix}:{own}"


def retry_timer_id(node_id: str, attempt: int) -> str:
    """The timer that makes a node due for the attempt after `attempt`."""
    return f"{node_id}-{attempt}-retry"


def batch_execution_id(batch_id: str, row: int) -> str:
    """The deterministic id of a batch row's execution (`row` counts from 0): whoever
    starts the row, however often, starts the same execution, and its log accepts one
    `execution.started`."""
    return f"{_token(batch_id)}-r{row}"


def child_prefix(execution_id: str, node_id: str, attempt: int) -> str:
    """What every child execution id started by one node attempt begins with."""
    return f"{execution_id}-{node_id}-{attempt}-"


def child_execution_id(execution_id: str, node_id: str, attempt: int, tail: int | str) -> str:
    """The deterministic id of a node attempt's child execution: `tail` is the item index
    of a composite node, or the token of an agent's tool call."""
    return f"{child_prefix(execution_id, node_id, attempt)}{tail}"


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


def live_any() -> str:
    """Matches every live chunk subject of every execution."""
    return f"{_PREFIX}.live.*.*"


def cancel_subject(execution_id: str) -> str:
    """Plain subject telling executors to stop work for a cancelled execution."""
    return f"{_PREFIX}.ctl.cancel.{_token(execution_id)}"


def cancel_wildcard() -> str:
    """Matches every cancel notice."""
    return f"{_PREFIX}.ctl.cancel.*"


PROBE_QUEUE = "probes"
"""The queue group of the executors answering probes (one of them answers each)."""


def probe_subject() -> str:
    """Plain request subject on which the gateway asks an executor to test an integration
    or list a provider's models (so the connection leaves through the nodes' egress)."""
    return f"{_PREFIX}.ctl.probe"


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


# Triggers start executions from outside: cron schedules (JetStream message schedules in
# FM_TRIGGERS, firing onto a subject the gateway consumes), webhooks and tenants' events.


def trigger_schedule_subject(trigger_id: str) -> str:
    """The schedule subject of one cron trigger; purging it stops the schedule."""
    return f"{_PREFIX}.trigger.schedule.{_token(trigger_id)}"


def trigger_schedule_wildcard() -> str:
    """Matches every trigger schedule subject."""
    return f"{_PREFIX}.trigger.schedule.*"


def trigger_fire_subject(trigger_id: str) -> str:
    """Where one cron trigger's schedule writes each fire."""
    return f"{_PREFIX}.trigger.fire.{_token(trigger_id)}"


def trigger_fire_wildcard() -> str:
    """Matches every trigger's fires (the gateway's fire consumer)."""
    return f"{_PREFIX}.trigger.fire.*"


def trigger_fire_consumer(projector: str = PROJECTOR_CONSUMER) -> str:
    """The gateway's durable consumer of schedule fires, one per read-model database
    (named after its projector), shared by that database's gateway replicas."""
    return f"{_token(projector)}-fires"


def tenant_event_consumer(projector: str = PROJECTOR_CONSUMER) -> str:
    """The gateway's durable consumer of tenants' events, one per read-model database."""
    return f"{_token(projector)}-events"


def tenant_event_wildcard() -> str:
    """Matches every tenant's event namespace."""
    return f"{_PREFIX}.tenant.*.events.>"


def tenant_event_filter(owner_id: str, pattern: str) -> str:
    """The subject filter of an event trigger: `pattern` (tokens, `*`, a last `>`) inside
    its owner's namespace `fm.tenant.<owner>.events.`, so it never reaches another's."""
    tokens = pattern.split(".")
    for i, token in enumerate(tokens):
        if token == "*" or (token == ">" and i == len(tokens) - 1):
            continue
        _token(token)
    return f"{_PREFIX}.tenant.{_token(owner_id)}.events.{pattern}"


def tenant_event_subject(owner_id: str, subject: str) -> str:
    """Where a tenant's own event `subject` (tokens only, no wildcard) is published: inside
    its owner's namespace, so a tenant publishing through the gateway reaches only its own
    event triggers. Raises `ValueError` for a subject that is not plain tokens."""
    for token in subject.split("."):
        _token(token)
    return f"{_PREFIX}.tenant.{_token(owner_id)}.events.{subject}"


def tenant_event_msg_id(owner_id: str, idempotency_key: str) -> str:
    """The `Nats-Msg-Id` of an event a tenant publishes with an idempotency key: the same
    key from the same tenant again (within the stream's duplicate window) publishes
    nothing, while one tenant's key never collides with another's."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"tenant-event:{owner_scope(owner_id)}:{digest}"


def tenant_event_owner(subject: str) -> str | None:
    """The owner whose namespace `subject` is in (None outside every namespace)."""
    parts = subject.split(".", 4)
    if len(parts) == 5 and parts[:2] == [_PREFIX, "tenant"] and parts[3] == "events":
        return parts[2]
    return None


def trigger_execution_id(trigger_id: str, fire_key: str) -> str:
    """The deterministic execution id of one fire of a trigger (`fire_key`: the scheduled
    time, the signature of a webhook request, an event's stream sequence), so a fire
    delivered twice, or a replayed request, starts at most one execution."""
    digest = hashlib.sha256(f"{trigger_id}:{fire_key}".encode()).hexdigest()[:24]
    return f"trg-{_token(trigger_id)}-{digest}"
