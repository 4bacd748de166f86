"""What the code and the README say about configuration, for checking deployment files."""

from __future__ import annotations

import re
from functools import cache

from tests.deploy.paths import ROOT

_VARIABLE = re.compile(r"FLOWMAESTRO_[A-Z0-9_]+")


@cache
def variables_in_code() -> frozenset[str]:
    """Every FLOWMAESTRO_* name the services, libraries and CLI mention."""
    found: set[str] = set()
    for folder in ("libs", "services", "cli"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(_VARIABLE.findall(path.read_text()))
    return frozenset(found)


@cache
def variables_in_readme_table() -> frozenset[str]:
    """The FLOWMAESTRO_* names in the README's Configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return frozenset(name for row in rows for name in _VARIABLE.findall(row.split(" | ")[0]))


def documented_and_read(name: str) -> bool:
    """A variable the code reads (by full name, or `FLOWMAESTRO_MAX_*` by its field) and the
    README's table documents."""
    code = variables_in_code()
    in_code = name in code or (name.startswith("FLOWMAESTRO_MAX_") and "FLOWMAESTRO_MAX_" in code)
    return in_code and name in variables_in_readme_table()


def cli_accepts(args: list[str]) -> bool:
    """Whether `flowmaestro ARGS` (what the images' entry point runs) is a valid command."""
    from flowmaestro.cli.main import _parser  # pyright: ignore[reportPrivateUsage]

    try:
        _parser().parse_args(args)
    except SystemExit:
        return False
    return True
