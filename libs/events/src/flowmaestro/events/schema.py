"""JSON Schemas generated from the Structs; `schemas/` holds the committed output."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec

from flowmaestro.events.catalogue import CATALOGUE
from flowmaestro.events.commands import Command
from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.events import Event

__all__ = ["all_schemas", "node_config_schema"]


def _normalised(value: Any) -> Any:
    """`value` with every description's docstring indentation removed.

    msgspec versions differ in whether they dedent docstrings; cleaning them here keeps
    the generated files the same whichever version made them.
    """
    if isinstance(value, dict):
        return {
            key: inspect.cleandoc(item)
            if key == "description" and isinstance(item, str)
            else _normalised(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def _schema(type_: Any) -> dict[str, Any]:
    """The normalised JSON Schema of one type."""
    return _normalised(msgspec.json.schema(type_))


def node_config_schema(node_type: str) -> dict[str, Any]:
    """The JSON Schema of one node type's `data`."""
    return _schema(CATALOGUE[node_type].config)


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema for everything in `schemas/`."""
    schemas: dict[str, dict[str, Any]] = {
        "workflow-definition.json": _schema(WorkflowDefinition),
        "events.json": _schema(Event),
        "commands.json": _schema(Command),
    }
    for node_type in sorted(CATALOGUE):
        schemas[f"nodes/{node_type}.json"] = node_config_schema(node_type)
    return schemas
