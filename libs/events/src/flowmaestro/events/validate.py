"""The workflow validator and the execution-input validator.

Every problem names the node and the field at fault, so the API and the canvas can point
at it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

import msgspec

from flowmaestro.events.catalogue import CATALOGUE, InputField, NodeConfig, node_spec
from flowmaestro.events.definition import Edge, Node, WorkflowDefinition
from flowmaestro.events.errors import (
    DefinitionError,
    InputValidationError,
    Problem,
    ReferenceResolutionError,
)
from flowmaestro.events.graph import build_graph, find_cycle
from flowmaestro.events.limits import DEFAULT_LIMITS, Limits, limit_problems
from flowmaestro.events.names import is_valid_token
from flowmaestro.events.references import INPUTS_ROOT, RESERVED_ROOTS, find_references
from flowmaestro.events.syntax import expression_problems

__all__ = [
    "check_definition",
    "check_inputs",
    "code_reference_problems",
    "config_problems",
    "declared_inputs",
    "parse_definition",
    "validate_definition",
    "validate_inputs",
]

_WHOLE_REFERENCE = re.compile(r"^\$\{[^}]*\}$")


def parse_definition(
    raw: bytes | str | Mapping[str, Any], limits: Limits = DEFAULT_LIMITS
) -> WorkflowDefinition:
    """Decode a definition document and validate it (size and time settings against
    `limits`); raise `DefinitionError` on any problem."""
    try:
        document = msgspec.json.decode(raw) if isinstance(raw, bytes | str) else raw
    except msgspec.DecodeError as exc:
        raise DefinitionError([Problem(f"not valid JSON: {exc}", code="malformed")]) from exc
    try:
        definition = msgspec.convert(document, WorkflowDefinition)
    except msgspec.ValidationError as exc:
        raise DefinitionError([_locate(document, exc)]) from exc
    return check_definition(definition, limits)


def _locate(document: Any, exc: msgspec.ValidationError) -> Problem:
    """Name the node (or edge) and field of a shape error that msgspec reports vaguely."""
    nodes = document.get("nodes") if isinstance(document, Mapping) else None
    if isinstance(nodes, Mapping):
        for key, raw in nodes.items():
            try:
                msgspec.convert(raw, Node)
            except msgspec.ValidationError as inner:
                field = _field_from_msgspec(str(inner))
                return Problem(str(inner), node_id=str(key), field=field, code="malformed")
    edges = document.get("edges") if isinstance(document, Mapping) else None
    if isinstance(edges, list):
        for index, raw in enumerate(edges):
            try:
                msgspec.convert(raw, Edge)
            except msgspec.ValidationError as inner:
                field = _field_from_msgspec(str(inner))
                where = f"edges[{index}]" + (f".{field}" if field else "")
                return Problem(str(inner), field=where, code="malformed")
    return Problem(str(exc), field=_field_from_msgspec(str(exc)), code="malformed")


def _field_from_msgspec(message: str) -> str | None:
    match = re.search(r"at `\$\.?([^`]*)`", message)
    return match.group(1) if match else None


@cache
def _field_types(config: type[NodeConfig]) -> dict[str, tuple[Any, bool]]:
    hints = typing.get_type_hints(config)
    info = msgspec.inspect.type_info(config)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.encode_name: (hints[f.name], f.required) for f in info.fields}


def config_problems(node_id: str, node_type: str, data: Mapping[str, Any]) -> list[Problem]:
    """Type problems of one node's `data`; a whole `${...}` reference stands for any type."""
    spec = node_spec(node_type)
    if spec is None:
        return [Problem(f"unknown node type {node_type!r}", node_id, "type", "unknown_type")]
    problems: list[Problem] = []
    for name, (annotation, required) in _field_types(spec.config).items():
        if name not in data:
            if required:
                problems.append(
                    Problem(f"'{name}' is required", node_id, f"data.{name}", "required")
                )
            continue
        value = data[name]
        if isinstance(value, str) and _WHOLE_REFERENCE.match(value):
            continue
        try:
            msgspec.convert(value, annotation)
        except msgspec.ValidationError as exc:
            sub = _field_from_msgspec(str(exc))
            field = f"data.{name}" + (f".{sub}" if sub else "")
            message = re.sub(r" - at `[^`]*`$", "", str(exc))
            problems.append(Problem(message, node_id, field, "type"))
    for field, message in spec.checks(data):
        problems.append(Problem(message, node_id, f"data.{field}", "invalid"))
    return problems


def code_reference_problems(node_id: str, node_type: str, data: Mapping[str, Any]) -> list[Problem]:
    """`${...}` references inside code, SQL or an expression: refused, since a value
    substituted as text would become code. Values travel in the node's data field."""
    spec = node_spec(node_type)
    problems: list[Problem] = []
    for name, carrier in (spec.code_fields if spec else {}).items():
        value = data.get(name)
        if not isinstance(value, str):
            continue
        try:
            found = bool(find_references(value))
        except ReferenceResolutionError:
            found = True
        if found:
            problems.append(
                Problem(
                    f"data.{name} holds a ${{...}} reference; references are data, never "
                    f"code: put the value in data.{carrier} and read it there "
                    "(write $${ for a literal ${)",
                    node_id,
                    f"data.{name}",
                    "reference_in_code",
                )
            )
    return problems


def _nested_problems(
    node_id: str, node_type: str, data: Mapping[str, Any], limits: Limits
) -> list[Problem]:
    """Problems inside the workflow definitions a composite node carries."""
    spec = node_spec(node_type)
    problems: list[Problem] = []
    for name in spec.nested if spec else ():
        raw = data.get(name)
        if not isinstance(raw, Mapping):
            continue
        try:
            inner = msgspec.convert(raw, WorkflowDefinition)
        except msgspec.ValidationError:
            continue  # config_problems already reported the shape
        for p in validate_definition(inner, limits):
            where = ".".join(x for x in (f"data.{name}", p.node_id, p.field) if x)
            problems.append(Problem(f"nested workflow: {p.message}", node_id, where, p.code))
    return problems


def declared_inputs(definition: WorkflowDefinition) -> dict[str, InputField]:
    """Every input declared by the definition's input nodes, by name."""
    declared: dict[str, InputField] = {}
    for node in definition.nodes.values():
        if node.type == "input":
            schema = node.data.get("schema")
            if isinstance(schema, Mapping):
                for name, field in schema.items():
                    try:
                        declared[name] = msgspec.convert(field, InputField)
                    except msgspec.ValidationError:
                        continue
    return declared


def validate_definition(
    definition: WorkflowDefinition, limits: Limits = DEFAULT_LIMITS
) -> list[Problem]:
    """Every problem in `definition` (size and time settings checked against `limits`);
    an empty list means it can run."""
    problems: list[Problem] = []
    for key, node in definition.nodes.items():
        if node.id != key:
            problems.append(
                Problem(f"id {node.id!r} differs from its key {key!r}", key, "id", "id_mismatch")
            )
        if not is_valid_token(key) or key in RESERVED_ROOTS:
            problems.append(
                Problem(
                    "node ids use letters, digits, '_' and '-', and are not 'inputs' or 'vars'",
                    key,
                    "id",
                    "bad_id",
                )
            )
        if node.type not in CATALOGUE:
            problems.append(
                Problem(f"unknown node type {node.type!r}", key, "type", "unknown_type")
            )
        else:
            problems.extend(config_problems(key, node.type, node.data))
            problems.extend(limit_problems(key, node.type, node.data, limits))
            problems.extend(code_reference_problems(key, node.type, node.data))
            problems.extend(_nested_problems(key, node.type, node.data, limits))
    problems.extend(
        expression_problems(
            {k: {"type": n.type, "data": n.data} for k, n in definition.nodes.items()}
        )
    )

    seen_edges: set[str] = set()
    for i, edge in enumerate(definition.edges):
        where = f"edges[{i}]"
        if edge.id in seen_edges:
            problems.append(
                Problem(f"duplicate edge id {edge.id!r}", None, f"{where}.id", "duplicate_id")
            )
        seen_edges.add(edge.id)
        for end in ("source", "target"):
            if getattr(edge, end) not in definition.nodes:
                problems.append(
                    Problem(
                        f"edge {edge.id!r} {end} {getattr(edge, end)!r} is not a node",
                        None,
                        f"{where}.{end}",
                        "dangling_edge",
                    )
                )
        source = definition.nodes.get(edge.source)
        spec = node_spec(source.type) if source else None
        if source is not None and spec is not None:
            handles = spec.branch_handles(source.data)
            if handles and edge.source_handle not in handles:
                problems.append(
                    Problem(
                        f"edge {edge.id!r} leaves through handle {edge.source_handle!r}; "
                        f"{source.type} node has {list(handles)}",
                        edge.source,
                        f"{where}.sourceHandle",
                        "bad_handle",
                    )
                )
            elif not handles and edge.source_handle is not None:
                problems.append(
                    Problem(
                        f"edge {edge.id!r} names handle {edge.source_handle!r}; "
                        f"{source.type} node has no branch handles",
                        edge.source,
                        f"{where}.sourceHandle",
                        "bad_handle",
                    )
                )

    problems.extend(_note_problems(definition))

    cycle = find_cycle(definition)
    if cycle:
        problems.append(Problem("cycle: " + " → ".join(cycle), cycle[0], "edges", "cycle"))
        return problems

    problems.extend(_reference_problems(definition))
    return problems


def _note_problems(definition: WorkflowDefinition) -> list[Problem]:
    """Sticky notes need ids of their own: the canvas shows notes and nodes side by side."""
    if definition.notes is msgspec.UNSET:
        return []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, note in enumerate(definition.notes):
        if note.id in seen or note.id in definition.nodes:
            problems.append(
                Problem(
                    f"note id {note.id!r} is already used", None, f"notes[{i}].id", "duplicate_id"
                )
            )
        seen.add(note.id)
    return problems


def _reference_problems(definition: WorkflowDefinition) -> list[Problem]:
    graph = build_graph(definition)
    declared = declared_inputs(definition)
    has_input_nodes = any(n.type == "input" for n in definition.nodes.values())
    problems: list[Problem] = []
    for key, node in definition.nodes.items():
        spec = node_spec(node.type)
        for name, value in node.data.items():
            if spec is not None and (name in spec.nested or name in spec.code_fields):
                continue  # a nested workflow has its own scope; code fields hold none
            field = f"data.{name}"
            try:
                references = find_references(value)
            except ReferenceResolutionError as exc:
                problems.append(Problem(str(exc), key, field, "bad_reference"))
                continue
            ancestors = None
            for ref in references:
                if ref.node_id is not None:
                    if ref.node_id not in definition.nodes:
                        problems.append(
                            Problem(f"{ref.text} names no node", key, field, "unknown_reference")
                        )
                        continue
                    ancestors = graph.ancestors(key) if ancestors is None else ancestors
                    if ref.node_id not in ancestors:
                        problems.append(
                            Problem(
                                f"{ref.text}: {ref.node_id!r} is not upstream of {key!r}",
                                key,
                                field,
                                "not_upstream",
                            )
                        )
                elif (
                    ref.root == INPUTS_ROOT
                    and has_input_nodes
                    and isinstance(ref.path[0], str)
                    and ref.path[0] not in declared
                ):
                    problems.append(
                        Problem(
                            f"{ref.text}: no input node declares {ref.path[0]!r}",
                            key,
                            field,
                            "unknown_reference",
                        )
                    )
    return problems


def check_definition(
    definition: WorkflowDefinition, limits: Limits = DEFAULT_LIMITS
) -> WorkflowDefinition:
    """Return `definition` when valid; raise `DefinitionError` listing every problem."""
    problems = validate_definition(definition, limits)
    if problems:
        raise DefinitionError(problems)
    return definition


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def validate_inputs(
    definition: WorkflowDefinition, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """Inputs with defaults applied, and the problems against the declared inputs.

    Inputs nobody declared pass through unchanged.
    """
    result = dict(inputs)
    problems: list[Problem] = []
    for name, field in declared_inputs(definition).items():
        if name not in result or result[name] is None:
            if field.default is not msgspec.UNSET:
                result[name] = field.default
            elif field.required:
                problems.append(
                    Problem(f"input {name!r} is required", None, f"inputs.{name}", "required")
                )
            continue
        value = result[name]
        expected = _PYTHON_TYPES[field.type]
        if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
            problems.append(
                Problem(
                    f"input {name!r} must be a {field.type}, got {type(value).__name__}",
                    None,
                    f"inputs.{name}",
                    "type",
                )
            )
    return result, problems


def check_inputs(definition: WorkflowDefinition, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Validated inputs with defaults; raise `InputValidationError` on any problem."""
    result, problems = validate_inputs(definition, inputs)
    if problems:
        raise InputValidationError(problems)
    return result
