"""Helpers for AI node tests: a one-node workflow and a run that also collects the live
chunks the node streamed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client

from flowmaestro.events import Event, ExecutionStarted, ExecutionState, parse_definition
from flowmaestro.events.names import live_subject
from flowmaestro.runtime import ExecutionLog, new_execution_id
from tests.support.engine import wait_for_end

__all__ = ["one_node", "run_watching"]


def one_node(
    node_type: str, data: dict[str, Any], inputs: dict[str, str] | None = None
) -> dict[str, Any]:
    """A workflow `start (input) → ai (node_type) → result (output)`."""
    schema = {name: {"type": kind, "required": True} for name, kind in (inputs or {}).items()}
    return {
        "nodes": {
            "start": {"id": "start", "type": "input", "data": {"schema": schema}},
            "ai": {"id": "ai", "type": node_type, "data": data},
            "result": {"id": "result", "type": "output", "data": {"output": "${ai.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "start", "target": "ai"},
            {"id": "e2", "source": "ai", "target": "result"},
        ],
    }


async def run_watching(
    nc: Client,
    definition: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    node_id: str = "ai",
    timeout: float = 20.0,
) -> tuple[ExecutionState, list[tuple[int, Event]], list[str]]:
    """Run the workflow; also return the live chunks `node_id` streamed, in order."""
    execution_id = new_execution_id()
    chunks: list[str] = []

    async def collect(msg: Any) -> None:
        chunks.append(msg.data.decode())

    sub = await nc.subscribe(live_subject(execution_id, node_id), cb=collect)
    try:
        await ExecutionLog(nc).start(
            ExecutionStarted(
                execution_id=execution_id,
                definition=parse_definition(json.dumps(definition)),
                inputs=inputs or {},
                started_at=datetime.now(UTC),
            )
        )
        state, records = await wait_for_end(nc, execution_id, timeout)
        await nc.flush()
        await asyncio.sleep(0.05)
    finally:
        await sub.unsubscribe()
    return state, records, chunks
