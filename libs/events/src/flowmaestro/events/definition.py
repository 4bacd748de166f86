"""The workflow definition document: nodes keyed by id, and edges between their handles.

This is the exact shape the API, the canvas and `flowmaestro run` exchange:
`{"nodes": {"n1": {"id", "type", "position", "data"}}, "edges": [{"id", "source", "target",
"sourceHandle"?, "targetHandle"?}], "notes"?: [{"id", "text", "position", "width"?,
"height"?}]}`.

Notes are sticky notes on the canvas. They are saved with the workflow and never run: they
are not nodes, so no edge, reference or command can name one, and the engine reads only
`nodes` and `edges`.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

__all__ = [
    "MAX_NOTES",
    "MAX_NOTE_CHARS",
    "Edge",
    "Node",
    "Note",
    "Position",
    "WorkflowDefinition",
]

MAX_NOTES = 100
"""How many sticky notes one workflow may hold."""
MAX_NOTE_CHARS = 4000
"""How long one sticky note's text may be."""


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


class Note(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sticky note on the canvas: plain text the engine never reads."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    text: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)] = ""
    position: Position = Position()
    width: Annotated[float, msgspec.Meta(ge=40, le=2000)] = 220.0
    height: Annotated[float, msgspec.Meta(ge=40, le=2000)] = 140.0


class WorkflowDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A whole workflow graph; `notes` is left out of the document when there are none."""

    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    notes: Annotated[list[Note], msgspec.Meta(max_length=MAX_NOTES)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
