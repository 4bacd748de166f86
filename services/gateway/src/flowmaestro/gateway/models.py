"""Request and response bodies (msgspec Structs); the OpenAPI schema is built from these."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from flowmaestro.events import Actor
from flowmaestro.gateway.security import MIN_PASSWORD, PASSWORD_PATTERN

__all__ = [
    "AuditEntry",
    "AuditPage",
    "AuditResource",
    "AuthResult",
    "BatchCancelResult",
    "BatchCounts",
    "BatchOut",
    "BatchPage",
    "BatchRequest",
    "BatchRowOut",
    "BatchRowPage",
    "BatchRowStatusName",
    "BatchStatusName",
    "CancelResult",
    "CurrentState",
    "Deleted",
    "Envelope",
    "ErrorBody",
    "ErrorEnvelope",
    "ExecuteRequest",
    "ExecutionDetail",
    "ExecutionPage",
    "ExecutionSource",
    "ExecutionStart",
    "ExecutionStatusName",
    "ExecutionSummary",
    "Health",
    "Id",
    "InputAccepted",
    "InputAnswer",
    "IntegrationCreate",
    "IntegrationList",
    "IntegrationOut",
    "IntegrationUpdate",
    "LogEntry",
    "LogLevel",
    "LogList",
    "LoginRequest",
    "ModelList",
    "ModelOut",
    "Name",
    "NodeCatalogue",
    "NodeTypeOut",
    "Pagination",
    "PauseResult",
    "ProbeResult",
    "Readiness",
    "RegisterRequest",
    "ResumeResult",
    "TestRequest",
    "TriggerKind",
    "UserOut",
    "VerifyRequest",
    "VerifyResult",
    "VersionOut",
    "WaitingInput",
    "WaitingInputPage",
    "WorkflowCreate",
    "WorkflowOut",
    "WorkflowPage",
    "WorkflowUpdate",
]

T = TypeVar("T")

TriggerKind = Literal["schedule", "webhook", "event"]
"""What starts a trigger's runs: a cron schedule, a webhook request, a tenant's event."""

Email = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
        max_length=254,
        examples=["a@b.io"],
    ),
]
RegisterEmail = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[ \t\r\n]*[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+[ \t\r\n]*$",
        max_length=254,
        examples=["a@b.io"],
        description="printable ASCII; surrounding spaces are dropped and case is folded",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    """Every successful response: `{"success": true, "data": ...}`."""

    success: bool = True
    data: T


class Pagination(msgspec.Struct, kw_only=True):
    """Where a page sits in the whole list."""

    page: int
    limit: int
    total: int
    pages: int


class ErrorBody(msgspec.Struct, kw_only=True):
    """What went wrong: a message, a stable code, and details (fields, nodes) or null."""

    message: str
    code: str
    details: Any = None


class ErrorEnvelope(msgspec.Struct, kw_only=True):
    """Every error response: `{"success": false, "error": {message, code, details}}`."""

    success: Literal[False] = False
    error: ErrorBody


class Deleted(msgspec.Struct, kw_only=True):
    """A removed resource."""

    id: str
    deleted: bool = True


class Health(msgspec.Struct, kw_only=True):
    """The process is alive."""

    status: str


class Readiness(msgspec.Struct, kw_only=True):
    """Every dependency answered (`checks` names each)."""

    status: str
    checks: dict[str, bool]


class RegisterRequest(msgspec.Struct, kw_only=True):
    """A new account; the email is trimmed and case-folded (control characters refused)."""

    email: RegisterEmail
    password: Annotated[
        str,
        msgspec.Meta(
            max_length=200,
            # Documented, checked by `check_password_strength` (a WEAK_PASSWORD error).
            extra_json_schema={
                "extra": {"min_length": MIN_PASSWORD, "pattern": PASSWORD_PATTERN},
                "description": "at least 8 characters, not only ASCII letters, not only digits",
            },
        ),
    ]
    name: Name


class LoginRequest(msgspec.Struct, kw_only=True):
    """Credentials."""

    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=200)]


class VerifyRequest(msgspec.Struct, kw_only=True):
    """A token to check."""

    token: Annotated[str, msgspec.Meta(max_length=4096)]


class UserOut(msgspec.Struct, kw_only=True):
    """A user, without secrets."""

    id: str
    email: str
    name: str
    created_at: datetime


class AuthResult(msgspec.Struct, kw_only=True):
    """A user and a bearer token for them."""

    user: UserOut
    token: str


class VerifyResult(msgspec.Struct, kw_only=True):
    """Whether a token is valid, and whose it is."""

    valid: bool
    user: UserOut | None = None


class WorkflowCreate(msgspec.Struct, kw_only=True):
    """A new workflow; `definition` is validated by the engine's validator."""

    name: Name
    definition: dict[str, Any]
    description: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class WorkflowUpdate(msgspec.Struct, kw_only=True):
    """Changes to a workflow; a changed definition becomes a new version."""

    name: Name | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    definition: dict[str, Any] | None = None


class WorkflowOut(msgspec.Struct, kw_only=True):
    """A workflow at its current version."""

    id: str
    name: str
    description: str
    version: int
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class WorkflowPage(msgspec.Struct, kw_only=True):
    """One page of workflows."""

    workflows: list[WorkflowOut]
    pagination: Pagination


class VersionOut(msgspec.Struct, kw_only=True):
    """One immutable version of a workflow."""

    workflow_id: str
    version: int
    definition: dict[str, Any]
    created_at: datetime
    restored_from: int | None = None


ExecutionStatusName = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
"""`pending` (started, no node scheduled yet) → `running` (⇄ `paused`) →
`completed`/`failed`/`cancelled`."""

ExecutionSource = Literal["manual", "schedule", "webhook", "event", "batch"]
"""How an execution started: by a person (`manual`), a trigger of that kind, or a batch."""

LogLevel = Literal["info", "warn", "error"]
"""The level of a log entry."""


class ExecuteRequest(msgspec.Struct, kw_only=True):
    """Start a run of a workflow (its current version unless `version` is given)."""

    workflow_id: Id
    inputs: dict[str, Any] = {}
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None


class TestRequest(msgspec.Struct, kw_only=True):
    """Start a test run of a workflow: its current version, `version`, or with
    `draft: true` its draft (recorded under the version the draft started from)."""

    inputs: dict[str, Any] = {}
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None
    draft: bool = False


class ExecutionStart(msgspec.Struct, kw_only=True):
    """A run that has just started."""

    execution_id: str
    workflow_id: str
    workflow_version: int
    status: ExecutionStatusName
    started_at: datetime
    test: bool = False


class ExecutionSummary(msgspec.Struct, kw_only=True):
    """One row of the executions list."""

    id: str
    workflow_id: str | None
    workflow_version: int | None
    status: ExecutionStatusName
    test: bool
    started_at: datetime
    completed_at: datetime | None
    duration_ms: float | None
    batch_id: str | None = None
    """The batch this run is a row of, if any."""
    trigger_id: str | None = None
    """The trigger that started the run (absent for starts from the API, CLI or canvas)."""
    trigger_kind: TriggerKind | None = None
    source: ExecutionSource = "manual"
    """How the run started: `manual` (API, CLI or canvas), a trigger's kind, or `batch`."""
    workflow_name: str | None = None
    """The workflow's current name (absent once it is deleted)."""


class ExecutionPage(msgspec.Struct, kw_only=True):
    """One page of runs."""

    executions: list[ExecutionSummary]
    pagination: Pagination


class CurrentState(msgspec.Struct, kw_only=True):
    """What a run holds now (while it runs and at its end)."""

    nodes: dict[str, Any] = {}
    """Each completed node's output, by node id."""
    variables: dict[str, Any] = {}
    """The variables set so far (`${vars.name}`)."""
    output_refs: dict[str, str] = {}
    """Completed nodes whose output is too large to inline: its object-store name."""


class ExecutionDetail(ExecutionSummary, kw_only=True):
    """Everything about one run: inputs, outputs, each node's attempts and timings."""

    current_state: CurrentState
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    nodes: dict[str, Any]
    error: dict[str, Any] | None
    failed_node: str | None
    event_count: int
    definition: dict[str, Any] | None = None
    """The definition the run executed, as recorded in its log."""
    origin: dict[str, Any] | None = None
    """The run it derives from, `{execution_id, kind, node_id?, at?}` (null otherwise)."""


class LogEntry(msgspec.Struct, kw_only=True):
    """One entry of an execution's log (one event, with a level)."""

    seq: int
    node_id: str | None
    level: LogLevel
    event: str
    message: str
    metadata: dict[str, Any]
    created_at: datetime


class LogList(msgspec.Struct, kw_only=True):
    """A run's log entries, in order."""

    logs: list[LogEntry]


class CancelResult(msgspec.Struct, kw_only=True):
    """A cancel request was recorded; the run stops at its next decision."""

    cancelled: bool = True
    execution_id: str
    cancel_requested: bool = True


AuditResource = Literal["workflow", "integration", "execution", "batch", "trigger", "event"]
"""The kinds of resource the audit trail records actions on."""


class AuditEntry(msgspec.Struct, kw_only=True):
    """One person's action: who (and from which address), when, what, on which resource.

    `action` is `workflow.created|updated|restored|deleted`,
    `integration.created|updated|deleted`, `trigger.created|updated|paused|resumed|deleted`,
    or, for executions, the tag of the event in the
    run's log: `execution.started|cancel_requested|pause_requested|resumed`, or
    `execution.input_answered` for an answer to a human-input node.
    """

    id: str
    at: datetime
    actor: Actor
    action: str
    resource_type: AuditResource
    resource_id: str
    details: dict[str, Any] = {}


class AuditPage(msgspec.Struct, kw_only=True):
    """One page of the audit trail."""

    entries: list[AuditEntry]
    pagination: Pagination


class PauseResult(msgspec.Struct, kw_only=True):
    """A pause was recorded: no new node starts; nodes already running finish."""

    paused: bool = True
    execution_id: str


class ResumeResult(msgspec.Struct, kw_only=True):
    """A resume was recorded: the run carries on from where it was held."""

    resumed: bool = True
    execution_id: str


class InputAnswer(msgspec.Struct, kw_only=True):
    """A person's answer to a waiting human-input node."""

    input: dict[str, Any]


class InputAccepted(msgspec.Struct, kw_only=True):
    """An answer recorded as the node's output."""

    execution_id: str
    node_id: str
    attempt: int
    output: Any = None


class IntegrationCreate(msgspec.Struct, kw_only=True):
    """A new integration; `credentials` are encrypted and never returned."""

    name: Name
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    config: dict[str, Any] = {}
    credentials: dict[str, Any] = {}
    enabled: bool = True


class IntegrationUpdate(msgspec.Struct, kw_only=True):
    """Changes to an integration; omitted fields keep their values."""

    name: Name | None = None
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    config: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = None
    enabled: bool | None = None


class IntegrationOut(msgspec.Struct, kw_only=True):
    """An integration with its credentials masked."""

    id: str
    name: str
    type: str
    config: dict[str, Any]
    credentials: dict[str, str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class IntegrationList(msgspec.Struct, kw_only=True):
    """One user's integrations."""

    integrations: list[IntegrationOut]


class NodeTypeOut(msgspec.Struct, kw_only=True):
    """One node type of the catalogue, as the canvas needs it."""

    type: str
    name: str
    category: str
    description: str
    inputs: list[str]
    outputs: dict[str, Any]
    config_schema: dict[str, Any]


class NodeCatalogue(msgspec.Struct, kw_only=True):
    """Every node type."""

    nodes: list[NodeTypeOut]


BatchStatusName = Literal["running", "cancelling", "completed", "cancelled"]
"""`running` (rows start as others end) → `completed` when every row has ended;
`cancelling` (no row starts, running ones are told to stop) → `cancelled`."""

BatchRowStatusName = Literal[
    "queued", "pending", "running", "paused", "completed", "failed", "cancelled"
]
"""`queued` (not started yet), then its execution's status; a row cancelled before it
started is `cancelled` with no execution."""


class BatchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A batch from JSON: one inputs object per row."""

    inputs: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=100_000)]
    """One object of inputs per execution, checked against the input nodes."""
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    """How many rows run at once (default and maximum: `FLOWMAESTRO_MAX_BATCH_CONCURRENCY`)."""
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None
    """The workflow version every row runs (default: the current one)."""


class BatchCounts(msgspec.Struct, kw_only=True):
    """How many rows are in each status."""

    queued: int = 0
    pending: int = 0
    running: int = 0
    paused: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


class BatchOut(msgspec.Struct, kw_only=True):
    """A batch and its progress."""

    id: str
    workflow_id: str
    workflow_version: int
    status: BatchStatusName
    concurrency: int
    total: int
    ended: int
    """Rows that have ended (completed, failed or cancelled)."""
    counts: BatchCounts
    columns: list[str]
    """The input names of the CSV header (or of the JSON rows), in order."""
    created_at: datetime
    ended_at: datetime | None


class BatchPage(msgspec.Struct, kw_only=True):
    """One page of batches, newest first."""

    batches: list[BatchOut]
    pagination: Pagination


class BatchRowOut(msgspec.Struct, kw_only=True):
    """One row: its inputs, its status, and its outputs once completed or its error once
    failed."""

    row: int
    """The row number, from 1 (the CSV's first data row)."""
    execution_id: str
    status: BatchRowStatusName
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None


class BatchRowPage(msgspec.Struct, kw_only=True):
    """One page of a batch's rows, in row order."""

    rows: list[BatchRowOut]
    pagination: Pagination


class BatchCancelResult(msgspec.Struct, kw_only=True):
    """The batch will start no more rows; running ones are being cancelled."""

    batch_id: str
    cancelled: bool = True


class WaitingInput(msgspec.Struct, kw_only=True):
    """A human-input node waiting for its owner's answer."""

    execution_id: str
    node_id: str
    workflow_id: str | None
    workflow_name: str | None
    workflow_version: int | None
    test: bool
    request: dict[str, Any]
    """What the node asks: `prompt`, `mode` (`form` or `approval`) and the form's `schema`."""
    waiting_since: datetime
    execution_started_at: datetime


class WaitingInputPage(msgspec.Struct, kw_only=True):
    """One page of the inbox, oldest wait first."""

    waiting: list[WaitingInput]
    pagination: Pagination


class ModelOut(msgspec.Struct, kw_only=True):
    """One model a provider offers."""

    id: str
    name: str | None = None


class ProbeResult(msgspec.Struct, kw_only=True):
    """What a connection test (or a model listing) found: `ok`, a message for a person,
    the error kind when it failed (`egress`: the address is refused; `timeout`, `auth`,
    `http_<status>`, `unsupported`, ...), and how long it took."""

    ok: bool
    message: str
    kind: str | None = None
    duration_ms: float = 0.0


class ModelList(ProbeResult, kw_only=True):
    """A provider's models (empty when `ok` is false)."""

    models: list[ModelOut] = []
