"""JSON Schemas generated from the Structs; `schemas/` holds the committed output."""

from __future__ import annotations

from typing import Any

import msgspec

from flowmaestro.events.catalogue import CATALOGUE
from flowmaestro.events.commands import Command
from flowmaestro.events.definition import WorkflowDefinition
from flowmaestro.events.events import Event

__all__ = ["all_schemas", "node_config_schema"]


def node_config_schema(node_type: str) -> dict[str, Any]:
    """The JSON Schema of one node type's `data`."""
    return msgspec.json.schema(CATALOGUE[node_type].config)


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema for everything in `schemas/`."""
    schemas: dict[str, dict[str, Any]] = {
        "workflow-definition.json": msgspec.json.schema(WorkflowDefinition),
        "events.json": msgspec.json.schema(Event),
        "commands.json": msgspec.json.schema(Command),
    }
    for node_type in sorted(CATALOGUE):
        schemas[f"nodes/{node_type}.json"] = node_config_schema(node_type)
    return schemas
