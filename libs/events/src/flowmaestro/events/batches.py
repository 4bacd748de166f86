"""Batch rows: a CSV table or a JSON list of inputs turned into checked execution inputs.

Pure: the CSV arrives as text, values are coerced by the type each input node declares,
and every problem names its row (counting data rows from 1, the header not counted) and
field, so a client can point at the cell.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from flowmaestro.events.catalogue.core import InputField
from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.errors import EventsError, Problem
from flowmaestro.events.validate import declared_inputs, validate_inputs

__all__ = ["BatchInputError", "check_rows", "coerce_cell", "parse_csv"]

_MAX_PROBLEMS = 50
"""A bad file can hold a problem per cell: the first ones are enough to fix it."""

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class BatchInputError(EventsError):
    """The batch's rows cannot be run as given; `problems` names each row and field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


def _field(row: int, name: str | None = None) -> str:
    return f"rows[{row}]" + (f".{name}" if name else "")


def coerce_cell(kind: str, raw: str) -> Any:
    """A CSV cell as a value of the declared input `kind`; `ValueError` when it is not one.

    Strings stay as written; numbers, booleans, objects and arrays are read as JSON (so a
    cell holding `{"a": 1}` is an object), booleans also as yes/no and 1/0."""
    if kind == "string":
        return raw
    text = raw.strip()
    if kind == "boolean" and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise ValueError(f"{raw!r} is not a valid {kind}") from None
    expected: dict[str, tuple[type, ...]] = {
        "number": (int, float),
        "integer": (int,),
        "boolean": (bool,),
        "object": (dict,),
        "array": (list,),
    }
    types = expected.get(kind, (object,))
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return int(value)
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        raise ValueError(f"{raw!r} is not a valid {kind}")
    return value


def _csv_rows(text: str, max_rows: int) -> tuple[list[str], list[list[str]]]:
    # lines split at "\n" only, each keeping it, so a quoted cell may span lines
    lines = [line + "\n" for line in text.split("\n")]
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise BatchInputError([Problem("the CSV has no header row", None, "csv", "no_header")])
        rows: list[list[str]] = []
        for cells in reader:
            if not cells:
                continue  # a blank line
            if len(rows) == max_rows:
                raise BatchInputError(
                    [
                        Problem(
                            f"the CSV has more than {max_rows} rows, the maximum "
                            "(FLOWMAESTRO_MAX_BATCH_ROWS)",
                            None,
                            "csv",
                            "too_many_rows",
                        )
                    ]
                )
            rows.append(cells)
    except csv.Error as exc:
        line = reader.line_num
        raise BatchInputError(
            [Problem(f"malformed CSV at line {line}: {exc}", None, "csv", "malformed")]
        ) from None
    return [name.strip() for name in header], rows


def parse_csv(
    text: str, definition: WorkflowDefinition, max_rows: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """The header's input names and one inputs object per data row, coerced by the types
    the input nodes declare (undeclared columns stay strings; an empty cell is absent, so
    a default applies). `BatchInputError` names each bad row and field."""
    header, cells = _csv_rows(text, max_rows)
    problems: list[Problem] = []
    seen: set[str] = set()
    for position, name in enumerate(header):
        if not name:
            problems.append(
                Problem(f"column {position + 1} has no name", None, "csv.header", "no_name")
            )
        elif name in seen:
            problems.append(
                Problem(f"column {name!r} appears twice", None, "csv.header", "duplicate")
            )
        seen.add(name)
    if problems:
        raise BatchInputError(problems)
    declared = declared_inputs(definition)
    rows: list[dict[str, Any]] = []
    for number, row in enumerate(cells, start=1):
        if len(row) != len(header):
            problems.append(
                Problem(
                    f"row {number} has {len(row)} cells, the header {len(header)}",
                    None,
                    _field(number),
                    "cell_count",
                )
            )
            continue
        inputs: dict[str, Any] = {}
        bad = False
        for name, raw in zip(header, row, strict=True):
            if raw == "":
                continue
            field = declared.get(name, InputField())
            try:
                inputs[name] = coerce_cell(field.type, raw)
            except ValueError as exc:
                bad = True
                problems.append(
                    Problem(f"row {number}, field {name!r}: {exc}", None, _field(number, name))
                )
        if not bad:
            values, found = _checked(definition, number, inputs)
            problems.extend(found)
            rows.append(values)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise BatchInputError(problems[:_MAX_PROBLEMS])
    return header, rows


def _checked(
    definition: WorkflowDefinition, number: int, row: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    values, found = validate_inputs(definition, row)
    problems: list[Problem] = []
    for problem in found:
        name = (problem.field or "").removeprefix("inputs.")
        problems.append(
            Problem(
                f"row {number}, field {name!r}: {problem.message}",
                None,
                _field(number, name or None),
                problem.code,
            )
        )
    return values, problems


def check_rows(
    definition: WorkflowDefinition, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each row's inputs validated against the input nodes, defaults applied; problems name
    the row (from 1) and the field."""
    checked: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for number, row in enumerate(rows, start=1):
        values, found = _checked(definition, number, row)
        problems.extend(found)
        checked.append(values)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise BatchInputError(problems[:_MAX_PROBLEMS])
    return checked
