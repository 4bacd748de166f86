"""Small pieces of hostile workflows run through the gateway: one-node workflows, a tenant's
integrations, and the error a failed run reports."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.gateway import User, data_of

__all__ = ["create_integration", "failure", "single_node"]


def single_node(node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A workflow `node` (of `node_type`) → `out` (its output); one attempt only, so a
    refusal shows at once."""
    return {
        "nodes": {
            "node": {
                "id": "node",
                "type": node_type,
                "position": {"x": 0, "y": 0},
                "data": {"retry": {"max_attempts": 1}, **data},
            },
            "out": {
                "id": "out",
                "type": "output",
                "position": {"x": 200, "y": 0},
                "data": {"output": "${node.output}"},
            },
        },
        "edges": [{"id": "e1", "source": "node", "target": "out"}],
    }


async def create_integration(
    client: httpx.AsyncClient,
    user: User,
    integration_type: str,
    config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> str:
    """An integration of `user`, made through the API; its id."""
    body = {
        "name": f"{integration_type} of {user.email}",
        "type": integration_type,
        "config": config or {},
        "credentials": credentials or {},
    }
    response = await client.post("/api/integrations", json=body, headers=user.headers)
    return data_of(response, 201)["id"]


def failure(detail: dict[str, Any]) -> dict[str, Any]:
    """The error of a run that failed at its `node`; asserts that it did."""
    assert detail["status"] == "failed", detail
    assert detail["failed_node"] == "node", detail
    assert detail["error"] is not None, detail
    return detail["error"]
