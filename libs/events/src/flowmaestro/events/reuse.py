"""Executions that reuse what an earlier execution recorded: the origins a new execution
starts with (re-run, retry, replay, fork, node test), a replay's plan, and the per-node
report comparing a derived execution with the one it came from.

Pure: everything is read from the earlier execution's own log (its `node.scheduled`
hashes and `node.completed` results). The scheduler completes a node from an entry of
`Origin.reuse` exactly when the hash of what now feeds it equals the recorded one (see
`decide`); an entry without a hash (an output set by hand) is used as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import msgspec

from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.events import (
    Event,
    NodeCompleted,
    NodeScheduled,
    Origin,
    Reusable,
)
from flowmaestro.events.graph import Graph, build_graph
from flowmaestro.events.names import owner_scope
from flowmaestro.events.state import ExecutionState, NodeStatus, fold

__all__ = [
    "DEFAULT_REUSE_BYTES",
    "MAX_DIFF_OPERATIONS",
    "REUSE_BYTES_CEILING",
    "NodeReport",
    "OriginError",
    "ReplayPlan",
    "bounded",
    "compare",
    "descendants",
    "fork_origin",
    "json_diff",
    "node_test_origin",
    "recorded_results",
    "replay_origin",
    "replay_plan",
    "retry_origin",
]

DEFAULT_REUSE_BYTES = 512 * 1024
"""How many bytes of earlier results a derived run's first event carries by default
(`FLOWMAESTRO_MAX_REUSE_BYTES`); results past it run again."""
REUSE_BYTES_CEILING = 768 * 1024
"""No operator may allow more: a log message is at most 1 MiB, and the first event also
carries the definition."""

MAX_DIFF_OPERATIONS = 100
"""A report's JSON diff of one node lists at most this many operations."""
_MAX_DIFF_DEPTH = 32

_encoder = msgspec.json.Encoder(order="sorted")

Records = Sequence[tuple[int, Event]] | Sequence[Event]


class OriginError(ValueError):
    """The requested derivation does not fit the earlier execution (a node it lacks, a
    position past its log, outputs too large); `field` names what was wrong."""

    def __init__(self, message: str, field: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def _events(records: Iterable[Any]) -> list[Event]:
    return [r[1] if isinstance(r, tuple) else r for r in records]


def descendants(graph: Graph, node_id: str) -> set[str]:
    """`node_id` and every node reachable from it."""
    seen = {node_id}
    stack = [node_id]
    while stack:
        for edge in graph.outgoing.get(stack.pop(), ()):
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def recorded_results(records: Records) -> dict[str, Reusable]:
    """The result of every node the log completed, with the hash of what fed it: the
    attempt the fold kept, its recorded `node.scheduled` hash and its `node.completed`.

    A result stored by reference (a large output) keeps naming the earlier execution's
    object; the new run's commands may read it (`ExecuteNode.reads`). A reference outside
    the log's owner's scope is left out (that node runs again).
    """
    events = _events(records)
    state = fold(events)
    hashes: dict[tuple[str, int], str] = {}
    results: dict[tuple[str, int], NodeCompleted] = {}
    for event in events:
        if isinstance(event, NodeScheduled):
            hashes.setdefault((event.node_id, event.attempt), event.input_hash)
        elif isinstance(event, NodeCompleted):
            results.setdefault((event.node_id, event.attempt), event)
    found: dict[str, Reusable] = {}
    for node_id, node in state.nodes.items():
        if node.status is not NodeStatus.COMPLETED:
            continue
        key = (node_id, node.attempt)
        done, digest = results.get(key), hashes.get(key)
        if done is None or digest is None:
            continue
        ref = done.output_ref
        if ref is not None and ref.split("/", 1)[0] != owner_scope(state.owner_id):
            continue
        found[node_id] = Reusable(
            attempt=node.attempt,
            input_hash=digest,
            output=done.output,
            output_ref=ref,
            handles=done.handles,
            vars=done.vars,
        )
    return found


def retry_origin(execution_id: str, records: Records, node_id: str) -> Origin:
    """Run `node_id` and what depends on it again; reuse every other recorded result."""
    state = fold(_events(records))
    if node_id not in state.definition.nodes:
        raise OriginError(f"no node {node_id!r} in this execution", "node_id", "not_found")
    again = descendants(state.graph, node_id)
    reuse = {n: r for n, r in recorded_results(records).items() if n not in again}
    return Origin(execution_id=execution_id, kind="retry", node_id=node_id, reuse=reuse)


class ReplayPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay against another definition does, node by node (lists in graph order)."""

    reuse: list[str]
    """Unchanged nodes with a recorded result: completed from it, nothing is called."""
    run: list[str]
    """Nodes that run: changed, added, downstream of a change, or never completed before."""
    changed: list[str]
    """Nodes of both definitions whose type, config or incoming edges differ."""
    added: list[str]
    removed: list[str]


def _incoming(graph: Graph, node_id: str) -> set[Any]:
    return {(e.source, e.source_handle, e.target_handle) for e in graph.incoming[node_id]}


def replay_plan(
    old: WorkflowDefinition, new: WorkflowDefinition, completed: Iterable[str]
) -> ReplayPlan:
    """Compare two definitions: changed nodes and everything downstream run, the rest reuse
    the results recorded for the nodes in `completed`."""
    old_graph, new_graph = build_graph(old), build_graph(new)
    added = [n for n in new_graph.order if n not in old.nodes]
    changed = [
        n
        for n in new_graph.order
        if n in old.nodes
        and (
            old.nodes[n].type != new.nodes[n].type
            or _encoder.encode(old.nodes[n].data) != _encoder.encode(new.nodes[n].data)
            or _incoming(old_graph, n) != _incoming(new_graph, n)
        )
    ]
    dirty: set[str] = set()
    for node_id in (*added, *changed):
        dirty |= descendants(new_graph, node_id)
    done = set(completed)
    reuse = [n for n in new_graph.order if n not in dirty and n in done]
    return ReplayPlan(
        reuse=reuse,
        run=[n for n in new_graph.order if n not in reuse],
        changed=changed,
        added=added,
        removed=[n for n in old_graph.order if n not in new.nodes],
    )


def replay_origin(
    execution_id: str, records: Records, definition: WorkflowDefinition
) -> tuple[Origin, ReplayPlan]:
    """Replay the execution against `definition`: its plan, and the origin that reuses the
    recorded results of the nodes the plan keeps."""
    events = _events(records)
    state = fold(events)
    results = recorded_results(events)
    plan = replay_plan(state.definition, definition, results)
    reuse = {n: results[n] for n in plan.reuse}
    return Origin(execution_id=execution_id, kind="replay", reuse=reuse), plan


def fork_origin(
    execution_id: str, records: Records, at: int, replaced: Mapping[str, Any] | None = None
) -> Origin:
    """Start from the first `at` events of the log: every result recorded by then is
    reused; `replaced` sets one node's output by hand (what depends on it runs again)."""
    events = _events(records)
    if not 1 <= at <= len(events):
        raise OriginError(f"the log has {len(events)} events; at must be 1 to {len(events)}", "at")
    prefix = events[:at]
    state = fold(prefix)
    reuse = recorded_results(prefix)
    for node_id, output in (replaced or {}).items():
        if node_id not in state.definition.nodes:
            raise OriginError(f"no node {node_id!r} in this execution", f"set.{node_id}")
        before = reuse.get(node_id)
        reuse[node_id] = Reusable(
            attempt=before.attempt if before else 0,
            output=output,
            handles=before.handles if before else _all_handles(state.graph, node_id),
            vars=before.vars if before else None,
        )
    return Origin(execution_id=execution_id, kind="fork", at=at, reuse=reuse)


def _all_handles(graph: Graph, node_id: str) -> list[str] | None:
    """Every branch a branching node leads to (an output set by hand takes them all)."""
    if node_id not in graph.branching:
        return None
    return sorted({e.source_handle for e in graph.outgoing[node_id] if e.source_handle})


def node_test_origin(
    definition: WorkflowDefinition,
    node_id: str,
    execution_id: str | None = None,
    records: Records | None = None,
    upstream: Mapping[str, Any] | None = None,
) -> Origin:
    """Run `node_id` alone: every node it depends on completes with the output it had in
    the recorded execution (`records`), or with `upstream[node]` set by hand; every other
    node is skipped."""
    graph = build_graph(definition)
    if node_id not in definition.nodes:
        raise OriginError(f"no node {node_id!r} in this workflow", "node_id", "not_found")
    before = graph.ancestors(node_id)
    reuse: dict[str, Reusable] = {}
    if records is not None:
        for ancestor, result in recorded_results(records).items():
            if ancestor in before:
                reuse[ancestor] = msgspec.structs.replace(result, input_hash=None)
    else:
        given = dict(upstream or {})
        unknown = sorted(set(given) - before)
        if unknown:
            raise OriginError(
                f"{unknown[0]!r} is not a node {node_id!r} depends on", f"inputs.{unknown[0]}"
            )
        for ancestor in before:
            reuse[ancestor] = Reusable(
                attempt=0, output=given.get(ancestor), handles=_all_handles(graph, ancestor)
            )
    return Origin(execution_id=execution_id, kind="test", node_id=node_id, reuse=reuse)


def bounded(origin: Origin, max_bytes: int) -> tuple[Origin, list[str]]:
    """`origin` with its reusable results within `max_bytes` (encoded), and the nodes
    left out (they run again). Results set by hand are never left out: past the bound
    they raise `OriginError` (code `too_large`)."""
    sizes = {n: len(_encoder.encode(r)) for n, r in origin.reuse.items()}
    forced = [n for n, r in origin.reuse.items() if r.input_hash is None]
    total = sum(sizes[n] for n in forced)
    if total > max_bytes:
        raise OriginError(
            f"the outputs given are {total} bytes, over the limit of {max_bytes}",
            "set" if origin.kind == "fork" else "inputs",
            "too_large",
        )
    kept: dict[str, Reusable] = {}
    dropped: list[str] = []
    for node_id, result in origin.reuse.items():
        if result.input_hash is None:
            kept[node_id] = result
        elif total + sizes[node_id] <= max_bytes:
            kept[node_id] = result
            total += sizes[node_id]
        else:
            dropped.append(node_id)
    return msgspec.structs.replace(origin, reuse=kept), dropped


Verdict = Literal["same", "changed", "newly_run", "removed", "added"]


class NodeReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One node of a derived execution compared with the execution it came from."""

    node_id: str
    verdict: Verdict
    status: str | None = None
    """In the derived execution (None for a removed node)."""
    original_status: str | None = None
    """In the earlier execution (None for an added node)."""
    reused: bool = False
    """Completed from the earlier execution's record: nothing ran."""
    diff: list[dict[str, Any]] | None = None
    """For a changed output: JSON-Patch-like operations from the old output to the new."""


def _result(state: ExecutionState, node_id: str) -> Any:
    node = state.nodes[node_id]
    handles = list(node.handles) if node.handles is not None else None
    return {"output": node.output, "output_ref": node.output_ref, "handles": handles}


def compare(original: ExecutionState, derived: ExecutionState) -> list[NodeReport]:
    """Node by node (derived graph order, then removed nodes): same, changed (with the
    diff of the outputs), newly run (had no result before), removed or added."""
    reports: list[NodeReport] = []
    for node_id in derived.graph.order:
        node = derived.nodes[node_id]
        status = str(node.status)
        if node_id not in original.nodes:
            reports.append(NodeReport(node_id=node_id, verdict="added", status=status))
            continue
        before = original.nodes[node_id]
        verdict: Verdict = "same" if node.status == before.status else "changed"
        diff: list[dict[str, Any]] | None = None
        if node.status is NodeStatus.COMPLETED and node.reused is None:
            if before.status is not NodeStatus.COMPLETED:
                verdict = "newly_run"
            else:
                old, new = _result(original, node_id), _result(derived, node_id)
                if _encoder.encode(old) != _encoder.encode(new):
                    # the output's own paths; else what differs beside it (a stored
                    # output's reference, the branches taken)
                    verdict = "changed"
                    diff = json_diff(before.output, node.output) or json_diff(old, new)
        reports.append(
            NodeReport(
                node_id=node_id,
                verdict=verdict,
                status=status,
                original_status=str(before.status),
                reused=node.reused is not None,
                diff=diff,
            )
        )
    for node_id in original.graph.order:
        if node_id not in derived.nodes:
            status = str(original.nodes[node_id].status)
            reports.append(NodeReport(node_id=node_id, verdict="removed", original_status=status))
    return reports


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_diff(old: Any, new: Any) -> list[dict[str, Any]]:
    """The operations (`add`, `remove`, `replace`, RFC 6902 paths) turning `old` into
    `new`, at most `MAX_DIFF_OPERATIONS` (a last `truncated` entry says more differ)."""
    ops: list[dict[str, Any]] = []

    def emit(op: dict[str, Any]) -> bool:
        if len(ops) >= MAX_DIFF_OPERATIONS:
            if ops[-1].get("op") != "truncated":
                ops.append({"op": "truncated", "path": op["path"]})
            return False
        ops.append(op)
        return True

    def walk(a: Any, b: Any, path: tuple[str | int, ...]) -> bool:
        if _encoder.encode(a) == _encoder.encode(b):
            return True
        if len(path) < _MAX_DIFF_DEPTH and isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                where = (*path, key)
                if key not in b:
                    ok = emit({"op": "remove", "path": _pointer(where), "old": a[key]})
                elif key not in a:
                    ok = emit({"op": "add", "path": _pointer(where), "value": b[key]})
                else:
                    ok = walk(a[key], b[key], where)
                if not ok:
                    return False
            return True
        if len(path) < _MAX_DIFF_DEPTH and isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b))):
                where = (*path, i)
                if i >= len(b):
                    ok = emit({"op": "remove", "path": _pointer(where), "old": a[i]})
                elif i >= len(a):
                    ok = emit({"op": "add", "path": _pointer(where), "value": b[i]})
                else:
                    ok = walk(a[i], b[i], where)
                if not ok:
                    return False
            return True
        return emit({"op": "replace", "path": _pointer(path), "old": a, "value": b})

    walk(old, new, ())
    return ops
