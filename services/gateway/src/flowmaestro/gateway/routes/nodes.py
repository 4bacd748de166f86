"""`/api/nodes`: the node catalogue, as the canvas needs it."""

from __future__ import annotations

from functools import cache

from litestar import Controller, get

from flowmaestro.events import CATALOGUE
from flowmaestro.events.schema import node_config_schema
from flowmaestro.gateway.deps import AUTHENTICATED, CurrentUser
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.models import Envelope, NodeCatalogue, NodeTypeOut
from flowmaestro.gateway.openapi import BEARER, errors

__all__ = ["NodeController", "node_types"]

# Handles that depend on configuration, shown with a typical configuration.
_HANDLE_EXAMPLES = {"user_input": {"mode": "approval"}}


@cache
def node_types() -> tuple[NodeTypeOut, ...]:
    """Every node type of the catalogue, sorted by category then type."""
    types = []
    for spec in CATALOGUE.values():
        handles = list(spec.branch_handles(_HANDLE_EXAMPLES.get(spec.type, {})))
        types.append(
            NodeTypeOut(
                type=spec.type,
                name=spec.name,
                category=spec.category,
                description=spec.description,
                inputs=[] if spec.type == "input" else ["default"],
                outputs={
                    "description": spec.outputs,
                    "handles": handles or ["default"],
                    "dynamic_handles": spec.type in ("switch", "user_input"),
                },
                config_schema=node_config_schema(spec.type),
            )
        )
    return tuple(sorted(types, key=lambda t: (t.category, t.type)))


class NodeController(Controller):
    """The node catalogue."""

    path = "/api/nodes"
    tags = ["nodes"]
    dependencies = AUTHENTICATED
    security = BEARER

    @get("/", responses=errors(400, 401))
    async def list_nodes(self, user: CurrentUser) -> Envelope[NodeCatalogue]:
        """Every node type with its handles and config JSON Schema."""
        del user  # the catalogue is the same for everyone, but only for signed-in users
        return ok(NodeCatalogue(nodes=list(node_types())))
