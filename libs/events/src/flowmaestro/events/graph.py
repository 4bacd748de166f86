"""The shape of a workflow graph derived once from its definition: edges per node, order."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from flowmaestro.events.catalogue import node_spec
from flowmaestro.events.definition import Edge, WorkflowDefinition

__all__ = ["Graph", "build_graph", "find_cycle"]


@dataclass(frozen=True, slots=True)
class Graph:
    """Incoming and outgoing edges per node, a topological order, and branching nodes."""

    order: tuple[str, ...]
    incoming: dict[str, tuple[Edge, ...]]
    outgoing: dict[str, tuple[Edge, ...]]
    branching: frozenset[str]

    def upstream(self, node_id: str) -> tuple[str, ...]:
        """Direct predecessors of `node_id`, each once, in edge order."""
        return tuple(dict.fromkeys(e.source for e in self.incoming[node_id]))

    def ancestors(self, node_id: str) -> set[str]:
        """Every node from which `node_id` can be reached."""
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for edge in self.incoming.get(stack.pop(), ()):
                if edge.source not in seen:
                    seen.add(edge.source)
                    stack.append(edge.source)
        return seen


def _edges_by_node(
    definition: WorkflowDefinition,
) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
    incoming: dict[str, list[Edge]] = {n: [] for n in definition.nodes}
    outgoing: dict[str, list[Edge]] = {n: [] for n in definition.nodes}
    for edge in definition.edges:
        if edge.source in outgoing and edge.target in incoming:
            outgoing[edge.source].append(edge)
            incoming[edge.target].append(edge)
    return incoming, outgoing


def find_cycle(definition: WorkflowDefinition) -> list[str] | None:
    """One cycle as a list of node ids (first repeated last), or None when acyclic."""
    _incoming, outgoing = _edges_by_node(definition)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(start: str) -> list[str] | None:
        stack = [(start, iter(outgoing[start]))]
        state[start] = 1
        path.append(start)
        while stack:
            node, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                state[node] = 2
                path.pop()
                stack.pop()
                continue
            nxt = edge.target
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(outgoing[nxt])))
        return None

    for node in definition.nodes:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def build_graph(definition: WorkflowDefinition) -> Graph:
    """Derive the graph; edges naming unknown nodes are ignored (the validator reports them).

    Nodes on a cycle are left out of `order`; validated definitions have none.
    """
    incoming, outgoing = _edges_by_node(definition)
    indegree = {n: len(edges) for n, edges in incoming.items()}
    queue = deque(n for n, d in indegree.items() if d == 0)
    order: list[str] = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for edge in outgoing[node]:
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                queue.append(edge.target)
    branching = frozenset(
        node_id
        for node_id, node in definition.nodes.items()
        if (spec := node_spec(node.type)) is not None and spec.branch_handles(node.data)
    )
    return Graph(
        order=tuple(order),
        incoming={n: tuple(e) for n, e in incoming.items()},
        outgoing={n: tuple(e) for n, e in outgoing.items()},
        branching=branching,
    )
