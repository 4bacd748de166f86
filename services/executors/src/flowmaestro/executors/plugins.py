"""The executors of installed node plugins, checked before they are imported.

A plugin's executor runs in this process like a built-in one: the same admission (tenant
caps, rate limits), runner (timeouts, cache, cancellation), operator limits and result
sink, and it sees only the `NodeContext` (whose integrations and files are the execution
owner's). Before its module is imported, the plugin's whole top-level package is scanned
with the rule that holds the executors package (`egress.scan`): a plugin that opens a
connection itself, imports a client library the egress package wraps or NATS, imports
FlowMaestro modules beyond the plugin API (events, the context, errors, egress) or imports
modules by name is refused, so its outbound connections go through
`flowmaestro.executors.egress` and its policy, and it sees no other tenant's data. The
scan reads code; it does not sandbox a plugin, so install only plugins you trust.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Mapping
from pathlib import Path

from flowmaestro.events.catalogue import InstalledPlugin, PluginError
from flowmaestro.executors.context import Executor
from flowmaestro.executors.egress.scan import plugin_violations

__all__ = ["choose", "load_executors", "package_directory"]


def package_directory(module: str) -> Path | None:
    """The folder (or single file) of `module`'s top-level package, without importing it."""
    top = module.split(".")[0]
    found = importlib.util.find_spec(top)
    if found is None:
        return None
    if found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations)))
    return Path(found.origin) if found.origin else None


def _checked(found: InstalledPlugin) -> Executor:
    module_name, _, attribute = found.plugin.executor.partition(":")
    where = f"plugin {found.distribution}: {found.type!r}"
    place = package_directory(module_name)
    if place is None:
        raise PluginError(f"{where}: executor module {module_name} is not installed")
    if problems := plugin_violations(place):
        raise PluginError(
            f"{where}: refused, its code opens connections outside the egress package "
            "or reaches past the plugin API (use the NodeContext and "
            "flowmaestro.executors.egress):\n  " + "\n  ".join(problems)
        )
    try:
        executor = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{where}: cannot load {found.plugin.executor}: {exc!r}") from exc
    if not inspect.iscoroutinefunction(executor):
        raise PluginError(f"{where}: {found.plugin.executor} is not an async function")
    return executor


def load_executors(plugins: Mapping[str, InstalledPlugin]) -> dict[str, Executor]:
    """Each plugin's executor by node type; raises `PluginError` on the first refused."""
    return {node_type: _checked(found) for node_type, found in plugins.items()}


def choose(
    executors: Mapping[str, Executor],
    plugins: Mapping[str, InstalledPlugin],
    types: list[str] | None,
    distributions: list[str] | None,
) -> dict[str, Executor]:
    """The executors one process runs: `types` and the types of the plugin packages named
    in `distributions` (every executor when neither is given).

    Raises `PluginError` for a type no executor has or a package that adds no node type,
    so a typo cannot leave a pool silently idle.
    """
    if not types and not distributions:
        return dict(executors)
    unknown = sorted(set(types or ()) - set(executors))
    if unknown:
        raise PluginError(f"no executor for node type(s) {', '.join(unknown)}")
    wanted = set(types or ())
    for name in distributions or ():
        added = {t for t, found in plugins.items() if _same(found.distribution, name)}
        if not added:
            raise PluginError(f"no installed plugin package {name!r} adds a node type")
        wanted |= added
    return {t: e for t, e in executors.items() if t in wanted}


def _same(distribution: str, name: str) -> bool:
    """Package names compare as pip does: case and `-`/`_`/`.` do not matter."""
    return normalized(distribution) == normalized(name)


def normalized(name: str) -> str:
    """A package name in its canonical form."""
    return re.sub(r"[-_.]+", "-", name).lower()
