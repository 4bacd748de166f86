"""What running an execution again from one node would do outside the platform.

Before a retry, replay or fork from node N, `preview_effects` lists every node with
external effects (a request sent, a row written, a message posted) among N and the nodes
downstream of it, with the idempotency key each would carry (`names.command_key`, which
executors pass to the far side where it accepts one, and from which they derive the keys
of their outside calls with `names.call_key`). Whether a node type has effects is the
node catalogue's answer (`NodeSpec.effects`, one place), never a list spelled here.

Nodes inside a loop or sub-workflow run as child executions: an effect node in a
composite's body is listed under the composite (`via`), with the key pattern of its
children (`*` stands for the item index). A composite whose body cannot be read from the
execution (a stored workflow not carried by `execution.started`) is listed in `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from flowmaestro.events.catalogue import node_spec, workflow_key
from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.names import child_execution_id, command_key
from flowmaestro.events.state import ExecutionState

__all__ = [
    "EffectNode",
    "EffectsPreview",
    "downstream_of",
    "has_external_effects",
    "preview_effects",
]

_MAX_NESTING = 8
"""How deep composite bodies are looked into (a body of a body of ...)."""


class EffectNode(msgspec.Struct, frozen=True, kw_only=True):
    """A node with external effects that would run again."""

    node_id: str
    type: str
    idempotency_key: str
    """The key of the attempt that would run (`*`: each item of a composite's body)."""
    attempt: int
    status: str | None = None
    """Where the node stands in the execution now (None inside a composite's body)."""
    via: list[str] = []
    """The composite nodes it runs inside, outermost first (empty at the top level)."""


class EffectsPreview(msgspec.Struct, frozen=True, kw_only=True):
    """What a run from `from_node` would do again (`into`: the execution it runs as)."""

    execution_id: str
    from_node: str
    into: str
    rerun: list[str]
    """Every top-level node that would run again, in order."""
    effects: list[EffectNode]
    unknown: list[str] = []
    """Composite nodes whose body is not known here (their effects are not listed)."""


def has_external_effects(node_type: str, data: Mapping[str, Any]) -> bool:
    """Whether a node of `node_type` configured with `data` has external effects, as the
    node catalogue says (an unknown type: True, the safe answer)."""
    spec = node_spec(node_type)
    return True if spec is None else spec.has_effects(data)


def downstream_of(definition: WorkflowDefinition, node_id: str) -> list[str]:
    """`node_id` and every node reachable from it, in the definition's order."""
    outgoing: dict[str, list[str]] = {}
    for edge in definition.edges:
        outgoing.setdefault(edge.source, []).append(edge.target)
    seen = {node_id}
    stack = [node_id]
    while stack:
        for target in outgoing.get(stack.pop(), ()):
            if target not in seen and target in definition.nodes:
                seen.add(target)
                stack.append(target)
    return [n for n in definition.nodes if n in seen]


def _body_nodes(
    data: Mapping[str, Any], nested: tuple[str, ...], workflows: Mapping[str, Any]
) -> Iterator[tuple[str, str, Mapping[str, Any]]] | None:
    """The `(id, type, data)` of a composite's body nodes; None when not known here."""
    bodies: list[Any] = [data[f] for f in nested if data.get(f) is not None]
    workflow_id = data.get("workflow_id")
    if not bodies and isinstance(workflow_id, str):
        version = data.get("version")
        stored = workflows.get(
            workflow_key(workflow_id, version if isinstance(version, int) else None)
        )
        if stored is None:
            return None
        bodies.append(stored)
    if not bodies:
        return None

    def walk() -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        for body in bodies:
            nodes = body.nodes if isinstance(body, WorkflowDefinition) else body.get("nodes")
            for node_id, node in (nodes or {}).items():
                if isinstance(node, Mapping):
                    yield node_id, str(node.get("type", "")), node.get("data") or {}
                else:
                    yield node_id, node.type, node.data

    return walk()


def preview_effects(
    state: ExecutionState, from_node: str, into: str | None = None
) -> EffectsPreview:
    """The effect nodes a run of `state`'s execution from `from_node` would run again.

    `into`: the execution the run would be (a fork or replay gets a new id, and every
    node its first attempt); by default the same execution, each node at its next
    attempt. Raises `KeyError` for a node the execution does not have.
    """
    if from_node not in state.definition.nodes:
        raise KeyError(from_node)
    target = into or state.execution_id
    again = set(downstream_of(state.definition, from_node))
    rerun = [n for n in state.graph.order if n in again]
    effects: list[EffectNode] = []
    unknown: list[str] = []
    workflows: Mapping[str, Any] = state.workflows

    def attempt_of(node_id: str) -> int:
        if target != state.execution_id:
            return 1
        held = state.nodes.get(node_id)
        return (held.attempt if held else 0) + 1

    def visit(
        execution: str,
        nodes: Iterator[tuple[str, str, Mapping[str, Any]]],
        via: list[str],
        top: bool,
    ) -> None:
        for node_id, node_type, data in nodes:
            attempt = attempt_of(node_id) if top else 1
            held = state.nodes.get(node_id) if top else None
            if has_external_effects(node_type, data):
                effects.append(
                    EffectNode(
                        node_id=node_id,
                        type=node_type,
                        idempotency_key=command_key(execution, node_id, attempt),
                        attempt=attempt,
                        status=held.status.value if held else None,
                        via=via,
                    )
                )
            spec = node_spec(node_type)
            if spec is None or not spec.composite:
                continue
            body = _body_nodes(data, spec.nested, workflows)
            if body is None or len(via) >= _MAX_NESTING:
                unknown.append("/".join([*via, node_id]))
                continue
            child = child_execution_id(execution, node_id, attempt, "*")
            visit(child, body, [*via, node_id], False)

    definition = state.definition.nodes
    visit(
        target,
        ((n, definition[n].type, definition[n].data) for n in rerun),
        [],
        True,
    )
    return EffectsPreview(
        execution_id=state.execution_id,
        from_node=from_node,
        into=target,
        rerun=rerun,
        effects=effects,
        unknown=unknown,
    )
