"""Two executions side by side, node by node: status, output, duration, tokens and cost.

Pure: it compares two folded states (`fold` of each log), so the CLI and the gateway
answer the same. Outputs are compared as JSON values: the changes are JSON Pointer paths
(RFC 6901) with the value on each side, at most `max_changes` of them (then `truncated`).
A stored output (too large to travel inline) is compared by its reference only. Tokens
and cost are what LLM-style nodes record in their output (`usage.total_tokens`, or input
plus output tokens, and `cost_usd`).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from flowmaestro.events.state import ExecutionState, NodeState

__all__ = [
    "MAX_CHANGES",
    "MAX_VALUE_BYTES",
    "ExecutionDiff",
    "NodeDiff",
    "ValueChange",
    "diff_executions",
    "json_diff",
    "usage_of",
]

MAX_CHANGES = 200
"""The most output changes listed per node (and the most any caller may ask for)."""
_MAX_DEPTH = 32
"""Below this depth two different values are reported as one change."""
MAX_VALUE_BYTES = 2048
"""A value in a change larger than this (as JSON) is shown as a clipped preview."""

ChangeOp = Literal["added", "removed", "changed"]


class ValueChange(msgspec.Struct, frozen=True, kw_only=True):
    """One difference between two JSON values: at `path`, `a` became `b` (a value over
    `MAX_VALUE_BYTES` as JSON is `{"$fm.clipped": <bytes>, "preview": <its JSON's start>}`)."""

    path: str
    op: ChangeOp
    a: Any = None
    b: Any = None


class NodeDiff(msgspec.Struct, frozen=True, kw_only=True):
    """One node in both executions (`only_in` names the side that has it, if one)."""

    node_id: str
    type: str
    only_in: Literal["a", "b"] | None = None
    changed: bool
    status_a: str | None = None
    status_b: str | None = None
    attempts_a: int = 0
    attempts_b: int = 0
    duration_ms_a: float | None = None
    duration_ms_b: float | None = None
    tokens_a: int | None = None
    tokens_b: int | None = None
    cost_usd_a: float | None = None
    cost_usd_b: float | None = None
    output_changes: list[ValueChange] = []
    output_truncated: bool = False


class ExecutionDiff(msgspec.Struct, frozen=True, kw_only=True):
    """Two executions compared; `nodes` in the order of `a`'s graph, then `b`'s extra."""

    a: str
    b: str
    workflow_a: str | None
    workflow_b: str | None
    same_definition: bool
    status_a: str
    status_b: str
    duration_ms_a: float | None
    duration_ms_b: float | None
    tokens_a: int | None
    tokens_b: int | None
    cost_usd_a: float | None
    cost_usd_b: float | None
    changed_nodes: int
    nodes: list[NodeDiff]


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_diff(a: Any, b: Any, max_changes: int = MAX_CHANGES) -> tuple[list[ValueChange], bool]:
    """The changes that turn JSON value `a` into `b` (objects by key, arrays by index),
    at most `max_changes`; and whether more were left out."""
    changes: list[ValueChange] = []
    truncated = False

    def note(change: ValueChange) -> bool:
        nonlocal truncated
        if len(changes) >= max_changes:
            truncated = True
            return False
        changes.append(msgspec.structs.replace(change, a=_clip(change.a), b=_clip(change.b)))
        return True

    def walk(x: Any, y: Any, path: tuple[str | int, ...]) -> bool:
        if _same(x, y):
            return True
        if len(path) < _MAX_DEPTH and isinstance(x, dict) and isinstance(y, dict):
            for key in x:
                here = (*path, str(key))
                if key not in y:
                    if not note(ValueChange(path=_pointer(here), op="removed", a=x[key])):
                        return False
                elif not walk(x[key], y[key], here):
                    return False
            for key in y:
                if key not in x and not note(
                    ValueChange(path=_pointer((*path, str(key))), op="added", b=y[key])
                ):
                    return False
            return True
        if len(path) < _MAX_DEPTH and isinstance(x, list) and isinstance(y, list):
            for i in range(max(len(x), len(y))):
                here = (*path, i)
                if i >= len(y):
                    ok = note(ValueChange(path=_pointer(here), op="removed", a=x[i]))
                elif i >= len(x):
                    ok = note(ValueChange(path=_pointer(here), op="added", b=y[i]))
                else:
                    ok = walk(x[i], y[i], here)
                if not ok:
                    return False
            return True
        return note(ValueChange(path=_pointer(path), op="changed", a=x, b=y))

    walk(a, b, ())
    return changes, truncated


def _clip(value: Any) -> Any:
    if not isinstance(value, dict | list | str):
        return value
    text = msgspec.json.encode(value)
    if len(text) <= MAX_VALUE_BYTES:
        return value
    preview = text[:200].decode(errors="ignore")
    return {"$fm.clipped": len(text), "preview": preview}


def _same(x: Any, y: Any) -> bool:
    # JSON equality: `1` equals `1.0`, `true` is not `1`
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    return x == y


def usage_of(output: Any) -> tuple[int | None, float | None]:
    """`(tokens, cost in USD)` a node's output records (None where it records none)."""
    if not isinstance(output, dict):
        return None, None
    tokens: int | None = None
    usage: Any = output.get("usage")
    if isinstance(usage, dict):
        total = _number(usage.get("total_tokens"))
        parts = [_number(usage.get("input_tokens")), _number(usage.get("output_tokens"))]
        if total is not None:
            tokens = int(total)
        elif any(p is not None for p in parts):
            tokens = int(sum(p for p in parts if p is not None))
    return tokens, _number(output.get("cost_usd"))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _duration_ms(node: NodeState) -> float | None:
    last = node.attempts[-1] if node.attempts else None
    if last is not None and last.duration_ms is not None:
        return last.duration_ms
    if node.scheduled_at is not None and node.ended_at is not None:
        return (node.ended_at - node.scheduled_at).total_seconds() * 1000
    return None


def _output(node: NodeState) -> Any:
    return {"$ref": node.output_ref} if node.output_ref else node.output


def _node_diff(node_id: str, a: ExecutionState, b: ExecutionState, max_changes: int) -> NodeDiff:
    in_a, in_b = a.nodes.get(node_id), b.nodes.get(node_id)
    defined = a.definition.nodes.get(node_id) or b.definition.nodes[node_id]
    sides: dict[str, Any] = {}
    for side, node in (("a", in_a), ("b", in_b)):
        if node is None:
            continue
        tokens, cost = usage_of(node.output)
        sides |= {
            f"status_{side}": node.status.value,
            f"attempts_{side}": node.attempt,
            f"duration_ms_{side}": _duration_ms(node),
            f"tokens_{side}": tokens,
            f"cost_usd_{side}": cost,
        }
    if in_a is None or in_b is None:
        return NodeDiff(
            node_id=node_id, type=defined.type, only_in="a" if in_b is None else "b",
            changed=True, **sides,
        )  # fmt: skip
    changes, truncated = json_diff(_output(in_a), _output(in_b), max_changes)
    changed = bool(changes) or in_a.status != in_b.status
    return NodeDiff(
        node_id=node_id,
        type=defined.type,
        changed=changed,
        output_changes=changes,
        output_truncated=truncated,
        **sides,
    )


def _total(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def diff_executions(
    a: ExecutionState, b: ExecutionState, max_changes: int = MAX_CHANGES
) -> ExecutionDiff:
    """Compare execution `a` with execution `b`, node by node (by node id)."""
    order = list(a.graph.order) + [n for n in b.graph.order if n not in a.nodes]
    nodes = [_node_diff(node_id, a, b, min(max_changes, MAX_CHANGES)) for node_id in order]

    def duration(state: ExecutionState) -> float | None:
        if state.ended_at is None:
            return None
        return (state.ended_at - state.started_at).total_seconds() * 1000

    return ExecutionDiff(
        a=a.execution_id,
        b=b.execution_id,
        workflow_a=a.workflow_id,
        workflow_b=b.workflow_id,
        same_definition=msgspec.json.encode(a.definition) == msgspec.json.encode(b.definition),
        status_a=a.status.value,
        status_b=b.status.value,
        duration_ms_a=duration(a),
        duration_ms_b=duration(b),
        tokens_a=_total([n.tokens_a for n in nodes]),
        tokens_b=_total([n.tokens_b for n in nodes]),
        cost_usd_a=_total([n.cost_usd_a for n in nodes]),
        cost_usd_b=_total([n.cost_usd_b for n in nodes]),
        changed_nodes=sum(1 for n in nodes if n.changed),
        nodes=nodes,
    )
