"""What changed between two workflow definitions, and what that means for running
executions of the older one.

Works on raw definition documents (a draft may be invalid): nodes are compared by id,
edges by (source, handle, target), and a node's position is layout, never a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

__all__ = [
    "CHANGED_FIELDS_PER_NODE",
    "DIFF_DEPTH",
    "Compatibility",
    "DefinitionDiff",
    "EdgeRef",
    "FieldChange",
    "NodeChange",
    "NodeRef",
    "compatibility",
    "definition_diff",
    "same_apart_from_layout",
    "without_layout",
]

DIFF_DEPTH = 6
"""Config values nested deeper than this are compared whole."""
CHANGED_FIELDS_PER_NODE = 100
"""At most this many field changes are listed per node (`truncated` says when more)."""

_ACTIVE = frozenset({"scheduled", "waiting", "retrying", "retry_due"})
_RAN = frozenset({"completed", "failed", "skipped"})


class NodeRef(msgspec.Struct, frozen=True, kw_only=True):
    """A node added or removed."""

    id: str
    type: str | None


class FieldChange(msgspec.Struct, frozen=True, kw_only=True):
    """One config value that differs: `path` such as `data.cases[0].value`; a missing
    side is absent (added or removed field)."""

    path: str
    before: Any = msgspec.UNSET
    after: Any = msgspec.UNSET


class NodeChange(msgspec.Struct, frozen=True, kw_only=True):
    """A node present in both definitions whose type or config differs."""

    id: str
    type: str | None
    fields: list[FieldChange]
    truncated: bool = False


class EdgeRef(msgspec.Struct, frozen=True, kw_only=True):
    """An edge added or removed."""

    source: str
    target: str
    source_handle: str | None = None


class DefinitionDiff(msgspec.Struct, frozen=True, kw_only=True):
    """Nodes added, removed and changed, edges added and removed, nodes only moved."""

    added: list[NodeRef]
    removed: list[NodeRef]
    changed: list[NodeChange]
    edges_added: list[EdgeRef]
    edges_removed: list[EdgeRef]
    moved: list[str]
    """Nodes whose position alone differs (layout: never a new version)."""

    @property
    def empty(self) -> bool:
        """True when nothing but layout differs."""
        return not (
            self.added or self.removed or self.changed or self.edges_added or self.edges_removed
        )


Verdict = Literal["safe", "pinned", "incompatible"]


class Compatibility(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a run of the old definition could go on under the new one: `safe` (every
    node it ran or runs is unchanged), `pinned` (a node it already ran changed: it stays on
    the old version), `incompatible` (a node it is running or waiting on was removed or
    changed). `nodes` names the nodes behind the verdict."""

    verdict: Verdict
    nodes: list[str]
    reason: str


def _nodes(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = definition.get("nodes")
    if not isinstance(nodes, Mapping):
        return {}
    return {str(k): v if isinstance(v, Mapping) else {} for k, v in nodes.items()}


def _edges(definition: Mapping[str, Any]) -> set[tuple[str, str, str | None]]:
    edges = definition.get("edges")
    found: set[tuple[str, str, str | None]] = set()
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, Mapping):
            handle = edge.get("sourceHandle")
            found.add(
                (
                    str(edge.get("source")),
                    str(edge.get("target")),
                    handle if isinstance(handle, str) else None,
                )
            )
    return found


def _type(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    return kind if isinstance(kind, str) else None


def _position(node: Mapping[str, Any]) -> tuple[float, float] | None:
    """Where a node sits; `0` and `0.0` are the same place (stored definitions hold floats,
    the canvas sends integers)."""
    position = node.get("position")
    if not isinstance(position, Mapping):
        return None
    x, y = position.get("x", 0), position.get("y", 0)
    if isinstance(x, int | float) and isinstance(y, int | float):
        return float(x), float(y)
    return None


def without_layout(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition without node positions and edge ids (neither changes a run)."""
    nodes = {
        k: {f: v for f, v in n.items() if f != "position"} for k, n in _nodes(definition).items()
    }
    return {"nodes": nodes, "edges": sorted(_edges(definition), key=repr)}


_SORTED = msgspec.json.Encoder(order="sorted")


def _same(a: Any, b: Any) -> bool:
    try:
        return _SORTED.encode(a) == _SORTED.encode(b)
    except (TypeError, msgspec.EncodeError):
        return a == b


def same_apart_from_layout(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when `a` and `b` differ at most in node positions and edge ids."""
    return _same(without_layout(a), without_layout(b))


def _field_changes(before: Any, after: Any, path: str, depth: int, out: list[FieldChange]) -> None:
    if len(out) > CHANGED_FIELDS_PER_NODE or _same(before, after):
        return
    if depth < DIFF_DEPTH and isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}.{key}"
            if key not in after:
                out.append(FieldChange(path=where, before=before[key]))
            elif key not in before:
                out.append(FieldChange(path=where, after=after[key]))
            else:
                _field_changes(before[key], after[key], where, depth + 1, out)
        return
    if (
        depth < DIFF_DEPTH
        and isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
    ):
        for index, (x, y) in enumerate(zip(before, after, strict=True)):
            _field_changes(x, y, f"{path}[{index}]", depth + 1, out)
        return
    out.append(FieldChange(path=path, before=before, after=after))


def _node_change(node_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> NodeChange | None:
    fields: list[FieldChange] = []
    if _type(old) != _type(new):
        fields.append(FieldChange(path="type", before=_type(old), after=_type(new)))
    old_rest = {k: v for k, v in old.items() if k not in ("position", "type", "id")}
    new_rest = {k: v for k, v in new.items() if k not in ("position", "type", "id")}
    _field_changes(old_rest, new_rest, "", 0, fields)
    if not fields:
        return None
    fields = [FieldChange(path=f.path.lstrip("."), before=f.before, after=f.after) for f in fields]
    truncated = len(fields) > CHANGED_FIELDS_PER_NODE
    return NodeChange(
        id=node_id, type=_type(new), fields=fields[:CHANGED_FIELDS_PER_NODE], truncated=truncated
    )


def definition_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> DefinitionDiff:
    """How `new` differs from `old`."""
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    changed: list[NodeChange] = []
    moved: list[str] = []
    for node_id in sorted(set(old_nodes) & set(new_nodes)):
        change = _node_change(node_id, old_nodes[node_id], new_nodes[node_id])
        if change is not None:
            changed.append(change)
        elif _position(old_nodes[node_id]) != _position(new_nodes[node_id]):
            moved.append(node_id)
    old_edges, new_edges = _edges(old), _edges(new)

    def edge_refs(edges: set[tuple[str, str, str | None]]) -> list[EdgeRef]:
        return [EdgeRef(source=s, target=t, source_handle=h) for s, t, h in sorted(edges, key=repr)]

    return DefinitionDiff(
        added=[
            NodeRef(id=k, type=_type(new_nodes[k])) for k in sorted(set(new_nodes) - set(old_nodes))
        ],
        removed=[
            NodeRef(id=k, type=_type(old_nodes[k])) for k in sorted(set(old_nodes) - set(new_nodes))
        ],
        changed=changed,
        edges_added=edge_refs(new_edges - old_edges),
        edges_removed=edge_refs(old_edges - new_edges),
        moved=moved,
    )


def compatibility(
    old: Mapping[str, Any], new: Mapping[str, Any], statuses: Mapping[str, str]
) -> Compatibility:
    """Whether a run of `old` whose nodes stand at `statuses` (node id → status) could
    continue under `new`."""
    diff = definition_diff(old, new)
    touched = {n.id for n in diff.removed} | {n.id for n in diff.changed}
    for edge in [*diff.edges_added, *diff.edges_removed]:
        touched.add(edge.target)  # a node's incoming edges decide when (and whether) it runs
    active = sorted(n for n, s in statuses.items() if s in _ACTIVE and n in touched)
    if active:
        return Compatibility(
            verdict="incompatible",
            nodes=active,
            reason="the run is on nodes that were removed or changed: " + ", ".join(active),
        )
    ran = sorted(n for n, s in statuses.items() if s in _RAN and n in touched)
    if ran:
        return Compatibility(
            verdict="pinned",
            nodes=ran,
            reason="nodes it already ran were changed; it stays on its version: " + ", ".join(ran),
        )
    return Compatibility(
        verdict="safe", nodes=[], reason="nothing it ran or runs changed; only nodes ahead of it"
    )
