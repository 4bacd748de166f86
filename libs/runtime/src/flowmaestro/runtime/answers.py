"""Delivering a person's answer to a waiting `user_input` node."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from flowmaestro.events import Actor, NodeCompleted, fold
from flowmaestro.events.answers import answer_event
from flowmaestro.events.names import answer_key, node_timer_id
from flowmaestro.runtime.log import ExecutionLog

__all__ = ["submit_answer"]


async def submit_answer(
    log: ExecutionLog, execution_id: str, node_id: str, answer: Any, actor: Actor | None = None
) -> NodeCompleted:
    """Validate `answer` against the node's form, append it, and drop its deadline timer.

    Raises `ExecutionNotFoundError`, or `AnswerRejected` naming the field at fault.
    """
    state = fold(await log.read_existing(execution_id))
    event = answer_event(state, node_id, answer, datetime.now(UTC), actor)
    await log.append(execution_id, event, answer_key(execution_id, node_id, event.attempt))
    with contextlib.suppress(Exception):
        await log.cancel_timer(execution_id, node_timer_id(node_id, event.attempt))
    return event
