"""The node catalogue: each node type's config Struct, handles, category and description.

Shared by the validator, the scheduler, the executors, the gateway and the UI (through
the generated schemas). A node type's name is the same word everywhere: here, in its
command subject, in the executor table and in the canvas's `nodeTypes`. Each family of
node types lives in its own module and is listed once below.
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

__all__ = [
    "CATALOGUE",
    "CodeConfig",
    "ConditionalConfig",
    "DatabaseConfig",
    "EchoConfig",
    "EmailConfig",
    "FileConfig",
    "HttpConfig",
    "InputConfig",
    "InputField",
    "JoinMode",
    "LoopConfig",
    "MergeConfig",
    "NodeConfig",
    "NodeSpec",
    "NotionConfig",
    "OutputConfig",
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

CATALOGUE: dict[str, NodeSpec] = {spec.type: spec for family in _FAMILIES for spec in family}


def node_spec(node_type: str) -> NodeSpec | None:
    """The spec of `node_type`, or None when the catalogue has no such type."""
    return CATALOGUE.get(node_type)
