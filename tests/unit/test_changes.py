"""Definition diffs, layout-only changes, compatibility verdicts and expression syntax."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flowmaestro.events import DefinitionError, parse_definition
from flowmaestro.events.changes import compatibility, definition_diff, same_apart_from_layout
from flowmaestro.events.syntax import expression_problems, syntax_error

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def test_layout_is_not_a_change() -> None:
    a, b = _example("branch"), _example("branch")
    b["nodes"]["big"]["position"] = {"x": 1, "y": 2}
    b["edges"][0]["id"] = "renamed"
    assert same_apart_from_layout(a, b)
    diff = definition_diff(a, b)
    assert diff.empty and diff.moved == ["big"]
    b["nodes"]["big"]["data"]["value"] = "other"
    assert not same_apart_from_layout(a, b)


def test_diff_names_fields_deep_and_bounded() -> None:
    a, b = _example("switch"), _example("switch")
    node = next(k for k, n in b["nodes"].items() if n["type"] == "switch")
    b["nodes"][node]["data"]["cases"][0]["value"] = "changed"
    b["nodes"][node]["data"]["timeout_ms"] = 5
    diff = definition_diff(a, b)
    (change,) = diff.changed
    paths = {f.path for f in change.fields}
    assert "data.cases[0].value" in paths and "data.timeout_ms" in paths
    many = {"nodes": {"x": {"type": "echo", "data": {f"k{i}": i for i in range(500)}}}}
    none = {"nodes": {"x": {"type": "echo", "data": {}}}}
    (wide,) = definition_diff(none, many).changed
    assert wide.truncated and len(wide.fields) == 100


def test_diff_survives_malformed_drafts() -> None:
    diff = definition_diff({"nodes": []}, {"nodes": {"a": "junk"}, "edges": [1, {"source": "a"}]})
    assert [n.id for n in diff.added] == ["a"]


def test_compatibility_verdicts() -> None:
    old = _example("approval")
    statuses = {"start": "completed", "approve": "waiting"}
    ahead = _example("approval")
    ahead["nodes"]["refund"]["data"]["output"] = "x"
    assert compatibility(old, ahead, statuses).verdict == "safe"
    behind = _example("approval")
    behind["nodes"]["start"]["data"]["schema"] = {}
    assert compatibility(old, behind, statuses).verdict == "pinned"
    gone = _example("approval")
    del gone["nodes"]["approve"]
    verdict = compatibility(old, gone, statuses)
    assert verdict.verdict == "incompatible" and verdict.nodes == ["approve"]
    rewired = _example("approval")
    rewired["edges"][0]["source"] = "refund"
    assert compatibility(old, rewired, statuses).verdict == "incompatible"


def test_expression_syntax_errors_name_node_and_field() -> None:
    definition = _example("branch")
    definition["nodes"]["check"]["data"]["expression"] = "amount > ("
    try:
        parse_definition(definition)
    except DefinitionError as exc:
        (problem,) = exc.problems
        assert (problem.node_id, problem.field, problem.code) == (
            "check",
            "data.expression",
            "syntax",
        )
        assert problem.message.startswith("JSONata syntax error")
    else:
        raise AssertionError("a syntax error passed")
    assert syntax_error("jmespath", "a.b[") is not None
    assert syntax_error("jmespath", "a.b[0]") is None
    assert syntax_error("jsonata", "$sum(items.price)") is None


def test_hostile_expressions_are_bounded() -> None:
    nodes = {
        f"n{i}": {"type": "transform", "data": {"expression": "a.b." * 499 + f"c{i}"}}
        for i in range(200)
    }
    nodes["deep"] = {"type": "transform", "data": {"expression": "(" * 1000}}
    nodes["long"] = {"type": "transform", "data": {"expression": "a.b." * 4000}}
    started = time.perf_counter()
    problems = expression_problems(nodes)
    assert time.perf_counter() - started < 3.0
    codes = {(p.node_id, p.code) for p in problems}
    assert ("deep", "syntax") in codes and ("long", "too_long") in codes


def test_integer_and_float_positions_are_the_same_place() -> None:
    stored = {"nodes": {"a": {"type": "echo", "position": {"x": 270.0, "y": 0.0}}}}
    canvas = {"nodes": {"a": {"type": "echo", "position": {"x": 270, "y": 0}}}}
    assert definition_diff(stored, canvas).moved == []
