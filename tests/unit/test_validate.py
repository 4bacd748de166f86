"""The workflow validator names the node and field at fault; inputs are checked."""

from __future__ import annotations

from typing import Any

import pytest

from flowmaestro.events import DefinitionError, InputValidationError, check_inputs
from flowmaestro.events.validate import parse_definition


def doc(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]] | None = None) -> dict:
    return {"nodes": {k: {"id": k, **v} for k, v in nodes.items()}, "edges": edges or []}


def problems(document: dict) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(document)
    return [(p.node_id, p.field, p.code) for p in info.value.problems]


def test_accepts_the_canvas_document_shape() -> None:
    definition = parse_definition(
        {
            "nodes": {
                "n1": {
                    "id": "n1",
                    "type": "echo",
                    "position": {"x": 1, "y": 2},
                    "data": {"value": 1},
                },
                "n2": {
                    "id": "n2",
                    "type": "conditional",
                    "position": {"x": 0, "y": 0},
                    "data": {"expression": "a"},
                },
                "n3": {"id": "n3", "type": "echo", "position": {"x": 0, "y": 0}, "data": {}},
            },
            "edges": [
                {"id": "e1", "source": "n1", "target": "n2"},
                {
                    "id": "e2",
                    "source": "n2",
                    "target": "n3",
                    "sourceHandle": "true",
                    "targetHandle": "in",
                },
            ],
        }
    )
    assert definition.edges[1].source_handle == "true"
    assert definition.nodes["n1"].position.y == 2


def test_unknown_type_and_mismatched_id() -> None:
    found = problems({"nodes": {"a": {"id": "b", "type": "nope"}}, "edges": []})
    assert ("a", "id", "id_mismatch") in found
    assert ("a", "type", "unknown_type") in found


def test_dangling_and_duplicate_edges() -> None:
    found = problems(
        doc(
            {"a": {"type": "echo"}},
            [{"id": "e", "source": "a", "target": "zz"}, {"id": "e", "source": "a", "target": "a"}],
        )
    )
    assert (None, "edges[0].target", "dangling_edge") in found
    assert (None, "edges[1].id", "duplicate_id") in found


def test_cycles_are_rejected_with_the_path() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(
            doc(
                {"a": {"type": "echo"}, "b": {"type": "echo"}},
                [
                    {"id": "1", "source": "a", "target": "b"},
                    {"id": "2", "source": "b", "target": "a"},
                ],
            )
        )
    (problem,) = info.value.problems
    assert problem.code == "cycle" and "a → b → a" in problem.message


def test_branch_handles_must_exist_on_the_source() -> None:
    found = problems(
        doc(
            {
                "c": {"type": "conditional", "data": {"expression": "x"}},
                "e": {"type": "echo"},
                "f": {"type": "echo"},
            },
            [
                {"id": "1", "source": "c", "target": "e", "sourceHandle": "maybe"},
                {"id": "2", "source": "e", "target": "f", "sourceHandle": "true"},
            ],
        )
    )
    assert ("c", "edges[0].sourceHandle", "bad_handle") in found
    assert ("e", "edges[1].sourceHandle", "bad_handle") in found
    switch = doc(
        {
            "s": {
                "type": "switch",
                "data": {"expression": "x", "cases": [{"handle": "a", "value": 1}]},
            },
            "t": {"type": "echo"},
        },
        [{"id": "1", "source": "s", "target": "t", "sourceHandle": "default"}],
    )
    assert parse_definition(switch).edges[0].source_handle == "default"


def test_missing_or_ill_typed_config() -> None:
    found = problems(
        doc(
            {
                "t": {"type": "transform", "data": {"language": "xpath"}},
                "w": {"type": "wait", "data": {"seconds": "soon"}},
                "v": {"type": "variable", "data": {}},
            }
        )
    )
    assert ("t", "data.expression", "required") in found
    assert ("t", "data.language", "type") in found
    assert ("w", "data.seconds", "type") in found
    assert ("v", "data.name", "required") in found


def test_a_whole_reference_stands_for_any_type() -> None:
    parse_definition(
        doc(
            {
                "i": {"type": "input", "data": {"schema": {"s": {"type": "number"}}}},
                "w": {"type": "wait", "data": {"seconds": "${inputs.s}"}},
            },
            [{"id": "1", "source": "i", "target": "w"}],
        )
    )


def test_references_must_point_upstream() -> None:
    found = problems(
        doc(
            {
                "a": {"type": "echo"},
                "b": {"type": "echo"},
                "c": {"type": "echo", "data": {"value": "${b.output} ${zz.output}"}},
            },
            [{"id": "1", "source": "a", "target": "c"}],
        )
    )
    assert ("c", "data.value", "not_upstream") in found
    assert ("c", "data.value", "unknown_reference") in found


def test_inputs_references_must_be_declared_when_inputs_are_declared() -> None:
    found = problems(
        doc(
            {
                "i": {"type": "input", "data": {"schema": {"a": {}}}},
                "e": {"type": "echo", "data": {"value": "${inputs.b}"}},
            },
            [{"id": "1", "source": "i", "target": "e"}],
        )
    )
    assert found == [("e", "data.value", "unknown_reference")]


def test_malformed_documents_name_the_field() -> None:
    found = problems({"nodes": {"a": {"id": "a", "type": 3}}, "edges": []})
    assert found[0][0] == "a" and found[0][2] == "malformed"
    assert problems({"nodes": [], "edges": []})[0][2] == "malformed"


def test_check_inputs_applies_defaults_and_checks_types() -> None:
    definition = parse_definition(
        doc(
            {
                "i": {
                    "type": "input",
                    "data": {
                        "schema": {
                            "name": {"type": "string", "required": True},
                            "n": {"type": "integer", "default": 2},
                            "flag": {"type": "boolean"},
                        }
                    },
                }
            }
        )
    )
    assert check_inputs(definition, {"name": "x"}) == {"name": "x", "n": 2}
    with pytest.raises(InputValidationError) as info:
        check_inputs(definition, {"n": "two", "flag": 1})
    fields = {p.field for p in info.value.problems}
    assert fields == {"inputs.name", "inputs.n", "inputs.flag"}
