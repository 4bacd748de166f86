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

from flowmaestro.events.catalogue.base import NodeSpec
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


def plugins_from(
    entries: Iterable[EntryPointLike], builtin: Mapping[str, NodeSpec]
) -> dict[str, InstalledPlugin]:
    """The plugins `entries` declare, checked against the built-in types `builtin`.

    Raises `PluginError` when a name is not a valid subject token, shadows a built-in
    type, is declared twice, differs from its spec's type, or the object is not a
    `NodePlugin` with an executor reference and a description.
    """
    found: dict[str, InstalledPlugin] = {}
    for entry in sorted(entries, key=lambda e: e.name):
        where = _distribution(entry)
        name = entry.name
        if name in builtin:
            raise PluginError(
                f"plugin {where}: node type {name!r} shadows the built-in node type {name!r}; "
                "choose another name"
            )
        if not is_valid_token(name):
            raise PluginError(
                f"plugin {where}: node type {name!r} is not a valid name "
                "(letters, digits, '_' and '-' only: it is a subject token)"
            )
        if name in found:
            raise PluginError(
                f"plugin {where}: node type {name!r} is also declared by {found[name].distribution}"
            )
        try:
            plugin = entry.load()
        except Exception as exc:
            raise PluginError(f"plugin {where}: cannot load {entry.value}: {exc!r}") from exc
        if not isinstance(plugin, NodePlugin):
            raise PluginError(f"plugin {where}: {entry.value} is not a NodePlugin")
        spec = plugin.spec
        if spec.type != name:
            raise PluginError(
                f"plugin {where}: entry point {name!r} declares node type {spec.type!r}; "
                "the two names must be the same word"
            )
        if spec.composite or spec.nested:
            raise PluginError(f"plugin {where}: {name!r}: composite node types are built in only")
        if not _EXECUTOR_REF.match(plugin.executor):
            raise PluginError(
                f"plugin {where}: {name!r}: executor must be 'package.module:function', "
                f"not {plugin.executor!r}"
            )
        if plugin.executor.split(".")[0].split(":")[0] == "flowmaestro":
            raise PluginError(
                f"plugin {where}: {name!r}: a plugin's executor lives in its own top-level "
                "package, not in flowmaestro"
            )
        if not (spec.name and spec.category and spec.description and spec.outputs):
            raise PluginError(
                f"plugin {where}: {name!r}: name, category, description and outputs are needed"
            )
        found[name] = InstalledPlugin(plugin, where)
    return found


def installed_plugins(builtin: Mapping[str, NodeSpec]) -> dict[str, InstalledPlugin]:
    """The node plugins installed in this environment (see `plugins_from`)."""
    return plugins_from(entry_points(group=PLUGIN_GROUP), builtin)
