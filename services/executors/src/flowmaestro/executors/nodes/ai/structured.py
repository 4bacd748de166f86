"""JSON answers: the instruction that asks for one, parsing, schema validation."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

__all__ = ["json_instruction", "parse_json"]

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def json_instruction(schema: dict[str, Any] | None) -> str:
    """The system-prompt addition asking for JSON (matching `schema` when given)."""
    text = "Answer with a single JSON value only, no prose and no code fences."
    if schema:
        text += " It must validate against this JSON Schema:\n" + json.dumps(schema)
    return text


def parse_json(text: str, schema: dict[str, Any] | None) -> tuple[Any, str | None]:
    """The parsed value and None, or None and what is wrong with `text`."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc}"
    if schema:
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
            return None, f"does not match the schema at {where}: {exc.message}"
        except jsonschema.SchemaError as exc:
            return None, f"the node's json_schema is invalid: {exc.message}"
    return value, None
