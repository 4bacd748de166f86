"""Answers to a waiting `user_input` node, checked against the form it declared."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events.catalogue import UserInputConfig
from flowmaestro.events.definition import Node, WorkflowDefinition
from flowmaestro.events.errors import InputValidationError, Problem
from flowmaestro.events.events import Actor, NodeCompleted
from flowmaestro.events.state import ExecutionState, NodeStatus
from flowmaestro.events.validate import validate_inputs

__all__ = ["AnswerRejected", "answer_event"]


class AnswerRejected(InputValidationError):
    """The answer does not fit the node (not waiting, not a form, or invalid fields)."""


def answer_event(
    state: ExecutionState, node_id: str, answer: Any, now: datetime, actor: Actor | None = None
) -> NodeCompleted:
    """The completion that answers `node_id`, recording who answered; raises
    `AnswerRejected` when it cannot."""
    node = state.definition.nodes.get(node_id)
    if node is None or node.type != "user_input":
        raise AnswerRejected([Problem("not a human-input node", node_id, None, "not_found")])
    current = state.nodes[node_id]
    if state.status.terminal or current.status is not NodeStatus.WAITING:
        raise AnswerRejected(
            [
                Problem(
                    f"the node is {current.status}, not waiting for input",
                    node_id,
                    None,
                    "not_waiting",
                )
            ]
        )
    if not isinstance(answer, dict):
        raise AnswerRejected(
            [Problem("the answer must be a JSON object", node_id, "input", "type")]
        )
    try:
        config = msgspec.convert(node.data, UserInputConfig)
    except msgspec.ValidationError as exc:
        raise AnswerRejected([Problem(str(exc), node_id, "data", "invalid")]) from exc
    form = WorkflowDefinition(
        nodes={
            node_id: Node(
                id=node_id, type="input", data={"schema": msgspec.to_builtins(config.schema)}
            )
        }
    )
    values, problems = validate_inputs(form, answer)
    handles = None
    if config.mode == "approval":
        approved = answer.get("approved")
        if not isinstance(approved, bool):
            problems.append(
                Problem("'approved' must be true or false", node_id, "input.approved", "required")
            )
        handles = ["approved" if approved else "rejected"]
    if problems:
        raise AnswerRejected([Problem(p.message, node_id, p.field, p.code) for p in problems])
    return NodeCompleted(
        node_id=node_id,
        attempt=current.attempt,
        completed_at=now,
        output=values,
        handles=handles,
        actor=actor,
    )
