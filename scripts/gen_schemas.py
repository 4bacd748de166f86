"""Write the JSON Schemas generated from the msgspec Structs into `schemas/`.

Node types come from the catalogue, installed node plugins included: with a plugin
installed, its `schemas/nodes/<type>.json` is written beside the built-in ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flowmaestro.events.schema import all_schemas

ROOT = Path(__file__).resolve().parents[1] / "schemas"


def render(schema: dict[str, object]) -> str:
    """The committed text of one schema file."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Regenerate every schema file and remove stale ones."""
    wanted = {ROOT / name: render(schema) for name, schema in all_schemas().items()}
    for path in ROOT.rglob("*.json"):
        if path not in wanted:
            path.unlink()
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(wanted)} schemas to {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
