"""The building blocks of the node catalogue: the common config and the spec of a type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from flowmaestro.events.retry import RetryPolicy

__all__ = [
    "SETTING_FIELDS",
    "CachePolicy",
    "JoinMode",
    "NodeConfig",
    "NodeSpec",
    "always_effects",
    "joins_all",
    "no_effects",
    "no_handles",
]

JoinMode = Literal["all", "any"]
"""When a join node runs: once every incoming edge is resolved, or on the first taken."""


class CachePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Memoise a node: reuse an earlier result for the same type, config and inputs."""

    ttl_seconds: float = 3600.0


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings every node accepts beside its own: label, retry policy, timeout, cache."""

    label: str | None = None
    retry: RetryPolicy | None = None
    timeout_seconds: float | None = None
    cache: CachePolicy | None = None


SETTING_FIELDS = frozenset({"label", "retry", "timeout_seconds", "cache"})
"""Config fields that change how a node runs, not what it computes."""


def no_handles(_data: Mapping[str, Any]) -> tuple[str, ...]:
    """For node types without branches: every out-edge is taken."""
    return ()


def no_effects(_data: Mapping[str, Any]) -> bool:
    """For node types that change nothing outside the platform when they run."""
    return False


def always_effects(_data: Mapping[str, Any]) -> bool:
    """For node types whose every run may change something outside (a request sent,
    a message posted): running one again repeats it unless the far side deduplicates."""
    return True


def joins_all(_data: Mapping[str, Any]) -> JoinMode:
    """For most node types: run once every incoming edge is resolved."""
    return "all"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """Everything known about one node type before anything runs."""

    type: str
    name: str
    category: str
    description: str
    config: type[NodeConfig]
    outputs: str
    handles: Callable[[Mapping[str, Any]], tuple[str, ...]] = no_handles
    """Branch handles the node can take; empty means every out-edge is taken."""
    receives: frozenset[str] = frozenset()
    """Execution data the command carries beyond config and upstream: `inputs`, `vars`."""
    composite: bool = False
    """Run by the engine itself as child executions (loop, sub-workflow), not an executor."""
    nested: tuple[str, ...] = ()
    """Config fields holding a nested workflow definition, validated like the outer one."""
    checks: Callable[[Mapping[str, Any]], list[tuple[str, str]]] = field(default=lambda _data: [])
    """Extra (field, message) problems beyond field types."""
    joins: Callable[[Mapping[str, Any]], JoinMode] = joins_all
    """`all` (the default) or `any`: run as soon as one incoming edge is taken."""
    effects: Callable[[Mapping[str, Any]], bool] = no_effects
    """Whether a node of this type configured with `data` has external effects (sends,
    writes, posts): what a retry from an earlier node would do again (`events.effects`)."""
    code_fields: Mapping[str, str] = field(default_factory=dict)
    """Fields holding code, SQL or an expression, each with the data field that carries
    values into it: references are data and never rewrite the text of these fields."""

    def branch_handles(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        """The handles of a node of this type configured with `data`."""
        return self.handles(data)

    def has_effects(self, data: Mapping[str, Any]) -> bool:
        """Whether a node of this type configured with `data` has external effects."""
        return self.effects(data)

    def join_mode(self, data: Mapping[str, Any]) -> JoinMode:
        """How a node of this type configured with `data` waits for its inputs."""
        return self.joins(data)
