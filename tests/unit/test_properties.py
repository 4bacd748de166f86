"""Property-based tests of the fold, `decide` after a crash, and reference resolution."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowmaestro.events import (
    Dispatch,
    ErrorInfo,
    Event,
    ExecuteNode,
    NodeCompleted,
    NodeFailed,
    NodeScheduled,
    NodeStatus,
    NodeWaiting,
    decide,
    fold,
)
from flowmaestro.events.references import Scope, resolve
from tests.unit.sim import T0, definition, simulate, started

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text("abcxyz_", min_size=1, max_size=4), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def workflows(draw: st.DrawFn) -> tuple[Any, dict[str, list[str]]]:
    """A random DAG of echo and conditional nodes, and the branch each conditional takes."""
    count = draw(st.integers(2, 8))
    ids = [f"n{i}" for i in range(count)]
    kinds = {n: draw(st.sampled_from(["echo", "echo", "conditional"])) for n in ids}
    nodes: dict[str, tuple[str, dict[str, Any]]] = {}
    for n in ids:
        data: dict[str, Any] = (
            {"expression": "x"}
            if kinds[n] == "conditional"
            else {"value": n, "retry": {"max_attempts": 3, "jitter": 0}}
        )
        nodes[n] = (kinds[n], data)
    edges: list[tuple[str, str] | tuple[str, str, str]] = []
    for j in range(1, count):
        for i in range(j):
            if draw(st.booleans()):
                source = ids[i]
                if kinds[source] == "conditional":
                    edges.append((source, ids[j], draw(st.sampled_from(["true", "false"]))))
                else:
                    edges.append((source, ids[j]))
    taken = {
        n: [draw(st.sampled_from(["true", "false"]))] for n in ids if kinds[n] == "conditional"
    }
    failures = {n: draw(st.integers(0, 2)) for n in ids}
    return definition(nodes, edges), {"taken": taken, "failures": failures}  # type: ignore[dict-item]


def responder(plan: dict[str, Any]):
    def respond(command: ExecuteNode) -> Event:
        if command.attempt <= plan["failures"][command.node_id]:
            return NodeFailed(
                node_id=command.node_id,
                attempt=command.attempt,
                failed_at=T0,
                error=ErrorInfo(message="transient"),
            )
        return NodeCompleted(
            node_id=command.node_id,
            attempt=command.attempt,
            completed_at=T0,
            output=command.config.get("value"),
            handles=plan["taken"].get(command.node_id),
        )

    return respond


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_folding_the_same_log_twice_gives_equal_states(case: tuple[Any, Any]) -> None:
    defn, plan = case
    final, log = simulate(started(defn), responder(plan))
    assert final.status.terminal
    records = list(enumerate(log, start=1))
    assert fold(records) == fold(records) == final


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(), st.data())
def test_duplicated_events_change_nothing(case: tuple[Any, Any], data: st.DataObject) -> None:
    defn, plan = case
    _, log = simulate(started(defn), responder(plan))
    dupes = data.draw(st.lists(st.integers(1, len(log) - 1), max_size=6))
    noisy = list(log)
    for index in sorted(dupes, reverse=True):
        noisy.insert(index + 1, log[index])
    clean, noisy_state = fold(log), fold(noisy)
    assert noisy_state.status == clean.status
    assert noisy_state.outputs == clean.outputs
    assert {n: (s.status, s.attempt, s.output) for n, s in noisy_state.nodes.items()} == {
        n: (s.status, s.attempt, s.output) for n, s in clean.nodes.items()
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(), st.data())
def test_decide_after_a_crash_reissues_exactly_the_unfinished_commands(
    case: tuple[Any, Any], data: st.DataObject
) -> None:
    defn, plan = case
    _, log = simulate(started(defn), responder(plan))
    cut = data.draw(st.integers(1, len(log)))
    prefix = log[:cut]
    state = fold(prefix)
    finished = {
        (e.node_id, e.attempt)
        for e in prefix
        if isinstance(e, NodeCompleted | NodeFailed | NodeWaiting)
    }
    in_flight = {(e.node_id, e.attempt) for e in prefix if isinstance(e, NodeScheduled)} - finished
    dispatched = {
        (d.command.node_id, d.command.attempt) for d in decide(state, T0) if isinstance(d, Dispatch)
    }
    assert not dispatched & finished, "a command whose result is logged was re-issued"
    if not state.status.terminal and not state.cancel_requested:
        assert in_flight <= dispatched, "an unfinished command was not re-issued"
    for node_id, attempt in dispatched - in_flight:
        node = state.nodes[node_id]
        assert node.status in (NodeStatus.PENDING, NodeStatus.RETRY_DUE)
        assert attempt == max(node.attempt, 1)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text("abc", min_size=1, max_size=3), json_values, min_size=1), st.data())
def test_whole_references_keep_the_value_and_type(
    outputs: dict[str, Any], data: st.DataObject
) -> None:
    node = data.draw(st.sampled_from(sorted(outputs)))
    scope = Scope(inputs={"i": outputs[node]}, vars={"v": outputs[node]}, outputs={"n-1": outputs})
    path, expected = data.draw(_paths(outputs))
    text = "${n-1.output" + path + "}"
    resolved = resolve({"x": [text]}, scope)["x"][0]
    assert resolved == expected and type(resolved) is type(expected)
    assert resolve("${inputs.i}", scope) == outputs[node]
    assert resolve("${vars.v}", scope) == outputs[node]


@st.composite
def _paths(draw: st.DrawFn, value: Any) -> tuple[str, Any]:
    path = ""
    for _ in range(draw(st.integers(0, 3))):
        if isinstance(value, dict) and value:
            key = draw(st.sampled_from(sorted(value)))
            path += f".{key}" if key.isidentifier() else f'["{key}"]'
            value = value[key]
        elif isinstance(value, list) and value:
            index = draw(st.integers(0, len(value) - 1))
            path += f"[{index}]"
            value = value[index]
    return path, value


@settings(max_examples=150, deadline=None)
@given(json_values, st.text(max_size=10))
def test_embedded_references_are_stringified(value: Any, prefix: str) -> None:
    prefix = prefix.replace("$", "")
    scope = Scope(inputs={"v": value}, vars={}, outputs={})
    expected = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    assert resolve(prefix + "<${inputs.v}>", scope) == f"{prefix}<{expected}>"
