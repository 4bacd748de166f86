"""Small workflows around one node under test, and integrations registered for them."""

from __future__ import annotations

import uuid
from typing import Any

from nats.aio.client import Client

from flowmaestro.runtime.secrets import IntegrationDirectory, IntegrationRecord, KeyRing

__all__ = ["one_node", "register_integration"]


def one_node(node_type: str, data: dict[str, Any], upstream: Any = None) -> dict[str, Any]:
    """`source` (echo of `upstream`, when given) → `node` → `result` (output of its output)."""
    nodes: dict[str, Any] = {
        "node": {"id": "node", "type": node_type, "data": data},
        "result": {"id": "result", "type": "output", "data": {"output": "${node.output}"}},
    }
    edges = [{"id": "e2", "source": "node", "target": "result"}]
    if upstream is not None:
        nodes["source"] = {"id": "source", "type": "echo", "data": {"value": upstream}}
        edges.append({"id": "e1", "source": "source", "target": "node"})
    return {"nodes": nodes, "edges": edges}


async def register_integration(
    nc: Client,
    integration_type: str,
    credentials: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> str:
    """Store an integration record with sealed credentials, as the gateway would; its id."""
    record_id = f"{integration_type}-{uuid.uuid4().hex[:8]}"
    record = IntegrationRecord(
        id=record_id,
        owner_id="tests",
        name=f"test {integration_type}",
        type=integration_type,
        config=config or {},
        credentials=KeyRing.from_env().seal(credentials, record_id),
    )
    await IntegrationDirectory(nc.jetstream()).put(record)
    return record_id
