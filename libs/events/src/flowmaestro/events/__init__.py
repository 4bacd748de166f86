"""FlowMaestro's pure core: definitions, events, commands, the fold and decide.

Nothing here does I/O, reads a clock or draws random numbers; a test proves it.
"""

from flowmaestro.events.catalogue import CATALOGUE, NodeSpec, node_spec
from flowmaestro.events.codec import decode_command, decode_event, encode, event_to_dict
from flowmaestro.events.commands import Command, ExecuteNode
from flowmaestro.events.decide import Append, Decision, Dispatch, StartTimer, StopExecution, decide
from flowmaestro.events.definition import Edge, Node, Position, WorkflowDefinition
from flowmaestro.events.errors import (
    CodecError,
    DefinitionError,
    EventsError,
    FoldError,
    InputValidationError,
    Problem,
    ReferenceResolutionError,
)
from flowmaestro.events.events import (
    ChildFinished,
    ChildStarted,
    ErrorInfo,
    Event,
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeProgress,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeWaiting,
    ParentRef,
)
from flowmaestro.events.limits import DEFAULT_LIMITS, Limits
from flowmaestro.events.state import (
    ExecutionState,
    ExecutionStatus,
    NodeState,
    NodeStatus,
    evolve,
    fold,
    reported_status,
)
from flowmaestro.events.validate import check_definition, check_inputs, parse_definition

__all__ = [
    "CATALOGUE",
    "DEFAULT_LIMITS",
    "Append",
    "ChildFinished",
    "ChildStarted",
    "CodecError",
    "Command",
    "Decision",
    "DefinitionError",
    "Dispatch",
    "Edge",
    "ErrorInfo",
    "Event",
    "EventsError",
    "ExecuteNode",
    "ExecutionCancelRequested",
    "ExecutionCancelled",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionStarted",
    "ExecutionState",
    "ExecutionStatus",
    "FoldError",
    "InputValidationError",
    "Limits",
    "Node",
    "NodeCompleted",
    "NodeFailed",
    "NodeProgress",
    "NodeRetryDue",
    "NodeRetrying",
    "NodeScheduled",
    "NodeSkipped",
    "NodeSpec",
    "NodeState",
    "NodeStatus",
    "NodeWaiting",
    "ParentRef",
    "Position",
    "Problem",
    "ReferenceResolutionError",
    "StartTimer",
    "StopExecution",
    "WorkflowDefinition",
    "check_definition",
    "check_inputs",
    "decide",
    "decode_command",
    "decode_event",
    "encode",
    "event_to_dict",
    "evolve",
    "fold",
    "node_spec",
    "parse_definition",
    "reported_status",
]
