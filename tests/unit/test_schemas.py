"""The committed JSON Schemas match the Structs they are generated from."""

from __future__ import annotations

from flowmaestro.events.schema import all_schemas
from scripts.gen_schemas import ROOT, render


def test_committed_schemas_do_not_drift() -> None:
    generated = all_schemas()
    committed = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.json")}
    assert committed == set(generated), "run: .venv/bin/python scripts/gen_schemas.py"
    for name, schema in generated.items():
        assert (ROOT / name).read_text() == render(schema), (
            f"schemas/{name} drifted; run: .venv/bin/python scripts/gen_schemas.py"
        )


def test_definition_schema_uses_the_canvas_field_names() -> None:
    edge = all_schemas()["workflow-definition.json"]["$defs"]["Edge"]["properties"]
    assert {"id", "source", "target", "sourceHandle", "targetHandle"} <= set(edge)
