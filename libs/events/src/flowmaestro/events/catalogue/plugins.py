"""Node types from installed packages: the `flowmaestro.nodes` entry-point group.

A plugin package declares one entry point per node type, named after the type and pointing
at a `NodePlugin`: its catalogue entry (a `NodeSpec`) and where its executor is
(`"module:function"`, imported only by executor processes, so the gateway and the
scheduler never load executor code). Discovery reads installed package metadata once, when
the catalogue is first imported; a plugin that breaks a rule stops that import with a
`PluginError` naming the package and the rule, so no process starts with a half-read
catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec
from flowmaestro.events.errors import EventsError
from flowmaestro.events.names import is_valid_token

__all__ = [
    "PLUGIN_GROUP",
    "InstalledPlugin",
    "NodePlugin",
    "PluginError",
    "installed_plugins",
    "plugins_from",
]

PLUGIN_GROUP = "flowmaestro.nodes"
"""The entry-point group a plugin package declares its node types in."""

_EXECUTOR_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


class PluginError(EventsError):
    """An installed node plugin breaks a rule; the message names the package and the rule."""


@dataclass(frozen=True, slots=True)
class NodePlugin:
    """What a plugin's entry point points at: one node type's spec and its executor."""

    spec: NodeSpec
    executor: str
    """`"package.module:function"`, an async `(NodeContext, config) -> NodeResult`."""


@dataclass(frozen=True, slots=True)
class InstalledPlugin:
    """A plugin found in the environment, with the distribution that declared it."""

    plugin: NodePlugin
    distribution: str

    @property
    def type(self) -> str:
        """The node type it adds."""
        return self.plugin.spec.type


class EntryPointLike(Protocol):
    """The part of `importlib.metadata.EntryPoint` discovery uses."""

    name: str
    value: str

    def load(self) -> Any:
        """Import and return the object the entry point names."""
        ...


def _distribution(entry: EntryPointLike) -> str:
    dist = getattr(entry, "dist", None)
    return str(getattr(dist, "name", None) or entry.value.partition(":")[0])


def _name_problem(
    name: str, builtin: Mapping[str, NodeSpec], found: Mapping[str, InstalledPlugin]
) -> str | None:
    if name in builtin:
        return f"node type {name!r} shadows the built-in node type {name!r}; choose another name"
    if not is_valid_token(name):
        return (
            f"node type {name!r} is not a valid name "
            "(letters, digits, '_' and '-' only: it is a subject token)"
        )
    if name in found:
        return f"node type {name!r} is also declared by {found[name].distribution}"
    return None


def _plugin_problem(name: str, plugin: NodePlugin) -> str | None:
    spec = plugin.spec
    if spec.type != name:
        return (
            f"entry point {name!r} declares node type {spec.type!r}; "
            "the two names must be the same word"
        )
    if not (isinstance(spec.config, type) and issubclass(spec.config, NodeConfig)):
        return f"{name!r}: the config must be a NodeConfig Struct"
    if spec.composite or spec.nested:
        return f"{name!r}: composite node types are built in only"
    if not _EXECUTOR_REF.match(plugin.executor):
        return f"{name!r}: executor must be 'package.module:function', not {plugin.executor!r}"
    if plugin.executor.split(".")[0].split(":")[0] == "flowmaestro":
        return f"{name!r}: a plugin's executor lives in its own top-level package"
    if not (spec.name and spec.category and spec.description and spec.outputs):
        return f"{name!r}: name, category, description and outputs are needed"
    return None


def plugins_from(
    entries: Iterable[EntryPointLike], builtin: Mapping[str, NodeSpec]
) -> dict[str, InstalledPlugin]:
    """The plugins `entries` declare, checked against the built-in types `builtin`.

    Raises `PluginError` when a name is not a valid subject token, shadows a built-in
    type, is declared twice or differs from its spec's type, or when the object is not a
    `NodePlugin` with a NodeConfig, an executor reference and a description.
    """
    found: dict[str, InstalledPlugin] = {}
    for entry in sorted(entries, key=lambda e: e.name):
        where = _distribution(entry)
        if problem := _name_problem(entry.name, builtin, found):
            raise PluginError(f"plugin {where}: {problem}")
        try:
            plugin = entry.load()
        except Exception as exc:
            raise PluginError(f"plugin {where}: cannot load {entry.value}: {exc!r}") from exc
        if not isinstance(plugin, NodePlugin):
            raise PluginError(f"plugin {where}: {entry.value} is not a NodePlugin")
        if problem := _plugin_problem(entry.name, plugin):
            raise PluginError(f"plugin {where}: {problem}")
        found[entry.name] = InstalledPlugin(plugin, where)
    return found


def installed_plugins(builtin: Mapping[str, NodeSpec]) -> dict[str, InstalledPlugin]:
    """The node plugins installed in this environment (see `plugins_from`)."""
    return plugins_from(entry_points(group=PLUGIN_GROUP), builtin)
