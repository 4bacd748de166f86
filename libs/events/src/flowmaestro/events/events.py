"""Execution events: one tagged union, past tense, stable dotted tags.

Each execution's log is a sequence of these on its own subject. An incompatible change
gets a new tag (for example `node.completed.v2`) and an upcaster in the codec.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec

from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.names import child_prefix

__all__ = [
    "TERMINAL_EVENTS",
    "Actor",
    "ChildFinished",
    "ChildStarted",
    "ErrorInfo",
    "Event",
    "ExecutionCancelRequested",
    "ExecutionCancelled",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionPauseRequested",
    "ExecutionResumed",
    "ExecutionStarted",
    "NodeCompleted",
    "NodeFailed",
    "NodeProgress",
    "NodeRetryDue",
    "NodeRetrying",
    "NodeScheduled",
    "NodeSkipped",
    "NodeWaiting",
    "Origin",
    "OriginKind",
    "ParentRef",
    "Reusable",
    "ReusedFrom",
    "TerminalEvent",
    "TriggerRef",
    "admissible_outcome",
]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    pass


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What went wrong: a message, a machine-readable kind, and whether retrying can help."""

    message: str
    kind: str = "error"
    terminal: bool = False
    retry_after_seconds: float | None = None


class Actor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The person behind an action: who, and from which client address."""

    user_id: str
    address: str | None = None


class ParentRef(msgspec.Struct, frozen=True, kw_only=True):
    """The execution, node attempt and item index that started a child execution."""

    execution_id: str
    node_id: str
    attempt: int = 1
    index: int = 0
    tool: bool = False
    """An agent's tool call: its end is also left where the awaiting executor reads it."""


TriggerKind = Literal["schedule", "webhook", "event"]


class TriggerRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The trigger that started an execution, and which of its fires it was."""

    trigger_id: str
    kind: TriggerKind
    fire_key: str | None = None
    """What makes the fire unique: the scheduled time, a webhook request's signature or
    id, an event's stream sequence."""


OriginKind = Literal["rerun", "retry", "replay", "fork", "test"]


class Reusable(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A node's result recorded by an earlier execution, which a new execution completes
    the node with instead of running it, when what feeds the node is unchanged."""

    attempt: int
    """The attempt of the earlier execution that produced it."""
    input_hash: str | None = None
    """The recorded `node.scheduled` hash (type, resolved config, inputs); the result is
    reused only when the new attempt's hash is equal. None: reused whatever the inputs
    (an output set by hand: a fork's replacement, a node test's upstream)."""
    output: Any = None
    output_ref: str | None = None
    handles: list[str] | None = None
    vars: dict[str, Any] | None = None


class Origin(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The earlier execution a new one derives from, how, and the results it may reuse.

    Written only by the platform (the gateway builds `reuse` from the earlier execution's
    own log, for its owner); a client never supplies it.
    """

    execution_id: str | None = None
    """None only for a node test on inputs edited by hand (no earlier execution)."""
    kind: OriginKind
    node_id: str | None = None
    """retry: the node run again with what depends on it; test: the only node that runs."""
    at: int | None = None
    """fork: how many events of the earlier log the new execution starts from."""
    reuse: dict[str, Reusable] = {}


class ReusedFrom(msgspec.Struct, frozen=True, kw_only=True):
    """Where a reused result was recorded: the earlier execution and its attempt (None and
    0 for an output set by hand)."""

    execution_id: str | None = None
    attempt: int = 0


class ExecutionStarted(_Event, frozen=True, kw_only=True, tag="execution.started"):
    """An execution began; it carries the whole definition so the log replays by itself."""

    execution_id: str
    workflow_id: str | None = None
    workflow_version: int | None = None
    definition: WorkflowDefinition
    inputs: dict[str, Any] = {}
    started_at: datetime
    test: bool = False
    owner_id: str | None = None
    parent: ParentRef | None = None
    workflows: dict[str, WorkflowDefinition] = {}
    """Definitions of the sub-workflows it may start, by `id` and `id@version`."""
    actor: Actor | None = None
    """Who started it (absent for runs the platform started itself, such as children)."""
    batch_id: str | None = None
    """The batch this run is a row of (its id is then made from the batch id and row)."""
    trigger: TriggerRef | None = None
    """The trigger that started it (absent for starts from the API, CLI or canvas)."""
    traceparent: str | None = None
    """The W3C trace context of the execution's trace: the scheduler and the executors
    continue it, also after a restart (children share their parent's trace)."""
    origin: Origin | None = None
    """The earlier execution this one re-runs, retries, replays, forks or tests a node of."""


class ExecutionCancelRequested(_Event, frozen=True, kw_only=True, tag="execution.cancel_requested"):
    """Someone asked to stop the execution."""

    requested_at: datetime
    reason: str | None = None
    actor: Actor | None = None


class ExecutionPauseRequested(_Event, frozen=True, kw_only=True, tag="execution.pause_requested"):
    """Someone asked the execution to hold: no new node is dispatched until it resumes.

    Nodes already running finish and their results are recorded; timers that come due are
    recorded too, and acted on after the resume.
    """

    requested_at: datetime
    actor: Actor | None = None


class ExecutionResumed(_Event, frozen=True, kw_only=True, tag="execution.resumed"):
    """Someone let a paused execution carry on."""

    resumed_at: datetime
    actor: Actor | None = None


class NodeScheduled(_Event, frozen=True, kw_only=True, tag="node.scheduled"):
    """A node attempt was dispatched; `input_hash` covers its type, config and inputs."""

    node_id: str
    attempt: int
    scheduled_at: datetime
    input_hash: str
    children: int | None = None
    """For loop and sub-workflow nodes: how many child executions the attempt runs."""


class NodeCompleted(_Event, frozen=True, kw_only=True, tag="node.completed"):
    """A node attempt finished; `handles` names the branches taken, `vars` the variables set.

    When the output was too large for an event, `output` is None and `output_ref` names the
    object holding it.
    """

    node_id: str
    attempt: int
    completed_at: datetime
    output: Any = None
    output_ref: str | None = None
    handles: list[str] | None = None
    vars: dict[str, Any] | None = None
    duration_ms: float | None = None
    cached: bool = False
    """True when the output was reused from the node cache instead of running the node."""
    actor: Actor | None = None
    """The person whose answer completed a human-input node (absent for executors' results)."""
    reused: ReusedFrom | None = None
    """Set when the scheduler completed the node from an earlier execution's record
    (nothing ran): which execution and attempt the result comes from."""


class NodeFailed(_Event, frozen=True, kw_only=True, tag="node.failed"):
    """A node attempt failed."""

    node_id: str
    attempt: int
    failed_at: datetime
    error: ErrorInfo
    duration_ms: float | None = None


class NodeProgress(_Event, frozen=True, kw_only=True, tag="node.progress"):
    """A durable step inside a running node attempt, such as one tool call of an agent.

    It changes no status. `key` names the step within the attempt; a redelivered command
    reads its attempt's records back and skips the steps already done.
    """

    node_id: str
    attempt: int
    key: str
    data: Any = None
    recorded_at: datetime


class NodeWaiting(_Event, frozen=True, kw_only=True, tag="node.waiting"):
    """A node attempt is parked until a durable timer (or, later, a person) completes it."""

    node_id: str
    attempt: int
    waiting_since: datetime
    until: datetime | None = None
    request: dict[str, Any] | None = None
    """What the node asks of a person (prompt, form schema, mode), for UIs."""
    fire: NodeCompleted | NodeFailed | None = None
    """What the attempt's durable timer writes at `until`; the scheduler arms it, since
    executors may not write timers (they could aim one anywhere in the log)."""


class NodeRetrying(_Event, frozen=True, kw_only=True, tag="node.retrying"):
    """A failed node will run again as `attempt` once its back-off timer fires at `retry_at`."""

    node_id: str
    attempt: int
    retry_at: datetime


class NodeRetryDue(_Event, frozen=True, kw_only=True, tag="node.retry_due"):
    """The back-off timer of a retry fired (written by the JetStream schedule)."""

    node_id: str
    attempt: int


class NodeSkipped(_Event, frozen=True, kw_only=True, tag="node.skipped"):
    """A node on an untaken branch will not run (dead-path elimination)."""

    node_id: str


class ChildStarted(_Event, frozen=True, kw_only=True, tag="child.started"):
    """A loop or sub-workflow node started child execution `execution_id` for item `index`."""

    node_id: str
    attempt: int
    index: int
    execution_id: str


class ChildFinished(_Event, frozen=True, kw_only=True, tag="child.finished"):
    """A child execution ended (written into the parent's log)."""

    node_id: str
    attempt: int
    index: int
    execution_id: str
    status: str
    output: Any = None
    error: ErrorInfo | None = None


class ExecutionCompleted(_Event, frozen=True, kw_only=True, tag="execution.completed"):
    """Every node is done or skipped; outputs are keyed by output node id."""

    completed_at: datetime
    outputs: dict[str, Any] = {}

    status: ClassVar[str] = "completed"

    @property
    def ended_at(self) -> datetime:
        """When the execution ended."""
        return self.completed_at


class ExecutionFailed(_Event, frozen=True, kw_only=True, tag="execution.failed"):
    """A node failed for good; the execution stops."""

    failed_at: datetime
    node_id: str | None = None
    error: ErrorInfo

    status: ClassVar[str] = "failed"

    @property
    def ended_at(self) -> datetime:
        """When the execution ended."""
        return self.failed_at


class ExecutionCancelled(_Event, frozen=True, kw_only=True, tag="execution.cancelled"):
    """The execution stopped at a cancel request."""

    cancelled_at: datetime
    reason: str | None = None

    status: ClassVar[str] = "cancelled"

    @property
    def ended_at(self) -> datetime:
        """When the execution ended."""
        return self.cancelled_at


Event = (
    ExecutionStarted
    | ExecutionCancelRequested
    | ExecutionPauseRequested
    | ExecutionResumed
    | NodeScheduled
    | NodeCompleted
    | NodeFailed
    | NodeWaiting
    | NodeProgress
    | NodeRetrying
    | NodeRetryDue
    | NodeSkipped
    | ChildStarted
    | ChildFinished
    | ExecutionCompleted
    | ExecutionFailed
    | ExecutionCancelled
)

TerminalEvent = ExecutionCompleted | ExecutionFailed | ExecutionCancelled
TERMINAL_EVENTS = (ExecutionCompleted, ExecutionFailed, ExecutionCancelled)


def admissible_outcome(event: Event) -> bool:
    """Whether an executor may have appended `event` (to an outcome subject): a node
    attempt's outcome, progress or wait; or, for an agent's tool call, the start of a child
    execution named after the attempt, or a cancel request (which the scheduler honours
    only for child executions). Anything else there is a forgery and is never folded."""
    if isinstance(event, ExecutionStarted):
        parent = event.parent
        # a child never reuses another run's results: only the platform derives runs
        return (
            parent is not None
            and event.origin is None
            and event.execution_id.startswith(
                child_prefix(parent.execution_id, parent.node_id, parent.attempt)
            )
        )
    return isinstance(
        event, NodeCompleted | NodeFailed | NodeWaiting | NodeProgress | ExecutionCancelRequested
    )
