"""The workflow definition document: nodes keyed by id, and edges between their handles.

This is the exact shape the API, the canvas and `flowmaestro run` exchange:
`{"nodes": {"n1": {"id", "type", "position", "data"}}, "edges": [{"id", "source", "target",
"sourceHandle"?, "targetHandle"?}]}`.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["Edge", "Node", "Position", "WorkflowDefinition"]


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where a node sits on the canvas; the engine ignores it."""

    x: float = 0.0
    y: float = 0.0


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """One node: its id (equal to its key in `nodes`), type, canvas position and config."""

    id: str
    type: str
    position: Position = Position()
    data: dict[str, Any] = {}


class Edge(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A directed edge; `sourceHandle` names the branch of a branching source node."""

    id: str
    source: str
    target: str
    source_handle: str | None = msgspec.field(default=None, name="sourceHandle")
    target_handle: str | None = msgspec.field(default=None, name="targetHandle")


class WorkflowDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A whole workflow graph."""

    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
