"""The node catalogue: each node type's config Struct, handles, category and description.

Shared by the validator, the scheduler, the executors, the gateway and the UI (through
the generated schemas). A node type's name is the same word everywhere: here, in its
command subject, in the executor table and in the canvas's `nodeTypes`. Each family of
node types lives in its own module and is listed once below.

Installed plugin packages add node types through the `flowmaestro.nodes` entry-point group
(see `plugins`): they join `CATALOGUE` beside the built-in types, which they may not
shadow, so every part that reads the catalogue sees them.
"""

from __future__ import annotations

from flowmaestro.events.catalogue import ai, compute, core, flow, integrations, io
from flowmaestro.events.catalogue.base import JoinMode, NodeConfig, NodeSpec, no_handles
from flowmaestro.events.catalogue.compute import CodeConfig, MergeConfig
from flowmaestro.events.catalogue.core import (
    ConditionalConfig,
    EchoConfig,
    InputConfig,
    InputField,
    OutputConfig,
    SwitchCase,
    SwitchConfig,
    TransformConfig,
    UserInputConfig,
    VariableConfig,
    WaitConfig,
)
from flowmaestro.events.catalogue.flow import LoopConfig, SubworkflowConfig, workflow_key
from flowmaestro.events.catalogue.integrations import (
    EmailConfig,
    NotionConfig,
    SlackConfig,
    WebhookConfig,
)
from flowmaestro.events.catalogue.io import DatabaseConfig, FileConfig, HttpConfig
from flowmaestro.events.catalogue.plugins import (
    PLUGIN_GROUP,
    InstalledPlugin,
    NodePlugin,
    PluginError,
    installed_plugins,
)

__all__ = [
    "BUILTIN_TYPES",
    "CATALOGUE",
    "PLUGINS",
    "PLUGIN_GROUP",
    "CodeConfig",
    "ConditionalConfig",
    "DatabaseConfig",
    "EchoConfig",
    "EmailConfig",
    "FileConfig",
    "HttpConfig",
    "InputConfig",
    "InputField",
    "InstalledPlugin",
    "JoinMode",
    "LoopConfig",
    "MergeConfig",
    "NodeConfig",
    "NodePlugin",
    "NodeSpec",
    "NotionConfig",
    "OutputConfig",
    "PluginError",
    "SlackConfig",
    "SubworkflowConfig",
    "SwitchCase",
    "SwitchConfig",
    "TransformConfig",
    "UserInputConfig",
    "VariableConfig",
    "WaitConfig",
    "WebhookConfig",
    "no_handles",
    "node_spec",
    "workflow_key",
]

_FAMILIES = (
    core.SPECS,
    flow.SPECS,
    ai.SPECS,
    compute.SPECS,
    io.SPECS,
    integrations.SPECS,
)

_BUILTIN: dict[str, NodeSpec] = {spec.type: spec for family in _FAMILIES for spec in family}

BUILTIN_TYPES: frozenset[str] = frozenset(_BUILTIN)
"""The node types FlowMaestro itself defines; no plugin may reuse one of these names."""

PLUGINS: dict[str, InstalledPlugin] = installed_plugins(_BUILTIN)
"""Node types added by installed plugin packages, by type."""

CATALOGUE: dict[str, NodeSpec] = {
    **_BUILTIN,
    **{node_type: found.plugin.spec for node_type, found in PLUGINS.items()},
}


def node_spec(node_type: str) -> NodeSpec | None:
    """The spec of `node_type`, or None when the catalogue has no such type."""
    return CATALOGUE.get(node_type)
