"""Make a node plugin visible to a child process without installing it.

What an installer writes for a package is its code plus a `*.dist-info` folder whose
`entry_points.txt` `importlib.metadata` reads. These helpers write that folder into a
temporary directory; putting the directory (and the plugin's source) on `PYTHONPATH` of a
child process installs the plugin for that process only, leaving the locked environment
as it is.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from flowmaestro.events.catalogue import PLUGIN_GROUP

__all__ = ["SLUGIFY", "fake_plugin", "plugin_env", "site_with"]

SLUGIFY = (
    Path(__file__).resolve().parents[2] / "examples" / "plugins" / "flowmaestro-plugin-slugify"
)


def _dist_info(site: Path, name: str, version: str, entries: dict[str, str]) -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{PLUGIN_GROUP}]", *(f"{k} = {v}" for k, v in entries.items())]
    (folder / "entry_points.txt").write_text("\n".join(lines) + "\n")


def site_with(project: Path, site: Path) -> list[Path]:
    """Write the metadata of the plugin project at `project` into `site`; returns the
    `PYTHONPATH` entries that install it (the metadata and the project's `src`)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    _dist_info(site, meta["name"], meta["version"], meta["entry-points"][PLUGIN_GROUP])
    return [site, project / "src"]


def fake_plugin(site: Path, name: str, files: dict[str, str], entries: dict[str, str]) -> Path:
    """A plugin written into `site`: its modules (`files`, path → text) and metadata."""
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
    _dist_info(site, name, "0.1.0", entries)
    return site


def plugin_env(paths: list[Path]) -> dict[str, str]:
    """This process's environment with `paths` in front of `PYTHONPATH`."""
    old = os.environ.get("PYTHONPATH")
    joined = os.pathsep.join([*map(str, paths), *([old] if old else [])])
    return {**os.environ, "PYTHONPATH": joined}
