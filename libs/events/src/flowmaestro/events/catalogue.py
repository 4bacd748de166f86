"""The node catalogue: each node type's config Struct, handles, category and description.

Shared by the validator, the scheduler, the executors, the gateway and the UI (through
the generated schemas). A node type's name is the same word everywhere: here, in its
command subject, in the executor table and in the canvas's `nodeTypes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec
from flowmaestro.events.retry import RetryPolicy

__all__ = [
    "CATALOGUE",
    "ConditionalConfig",
    "EchoConfig",
    "InputConfig",
    "InputField",
    "NodeConfig",
    "NodeSpec",
    "OutputConfig",
    "SwitchCase",
    "SwitchConfig",
    "TransformConfig",
    "VariableConfig",
    "WaitConfig",
    "node_spec",
]

ExpressionLanguage = Literal["jsonata", "jmespath"]
InputType = Literal["string", "number", "integer", "boolean", "object", "array"]


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings every node accepts beside its own: a label, retry policy and timeout."""

    label: str | None = None
    retry: RetryPolicy | None = None
    timeout_seconds: float | None = None


class InputField(msgspec.Struct, frozen=True, kw_only=True):
    """One declared execution input."""

    type: InputType = "string"
    required: bool = False
    default: Any = msgspec.UNSET
    description: str | None = None


class InputConfig(NodeConfig, frozen=True, kw_only=True):
    """`input`: declares the execution's inputs; its output is the validated inputs."""

    schema: dict[str, InputField] = {}


class OutputConfig(NodeConfig, frozen=True, kw_only=True):
    """`output`: one of the execution's outputs, keyed by this node's id."""

    output: Any = msgspec.UNSET


class EchoConfig(NodeConfig, frozen=True, kw_only=True):
    """`echo`: outputs `value` resolved, or else what its upstream nodes output.

    For testing workflows it can also take `delay_seconds` and fail its first
    `fail_first_attempts` attempts with a retryable error.
    """

    value: Any = msgspec.UNSET
    delay_seconds: float = 0.0
    fail_first_attempts: int = 0


class _ExpressionConfig(NodeConfig, frozen=True, kw_only=True):
    expression: str
    language: ExpressionLanguage = "jsonata"
    input: Any = msgspec.UNSET
    timeout_ms: int = 1000
    max_depth: int = 200


class TransformConfig(_ExpressionConfig, frozen=True, kw_only=True):
    """`transform`: evaluates a JSONata or JMESPath expression over `input` (default: upstream)."""


class ConditionalConfig(_ExpressionConfig, frozen=True, kw_only=True):
    """`conditional`: takes the `true` or `false` branch on the expression's truthiness."""


class SwitchCase(msgspec.Struct, frozen=True, kw_only=True):
    """One switch branch: its handle and the value that selects it."""

    handle: str
    value: Any


class SwitchConfig(_ExpressionConfig, frozen=True, kw_only=True):
    """`switch`: takes the handle of the first case equal to the expression, else `default`."""

    cases: list[SwitchCase] = []


class VariableConfig(NodeConfig, frozen=True, kw_only=True):
    """`variable`: sets or reads an execution variable (`${vars.name}` reads it too)."""

    operation: Literal["set", "get"] = "set"
    name: str
    value: Any = None


class WaitConfig(NodeConfig, frozen=True, kw_only=True):
    """`wait`: pauses this branch for `seconds`, or until the ISO-8601 time `until`."""

    seconds: float | None = None
    until: datetime | None = None


def _no_handles(_data: Mapping[str, Any]) -> tuple[str, ...]:
    return ()


def _switch_handles(data: Mapping[str, Any]) -> tuple[str, ...]:
    cases = data.get("cases")
    names = (
        [c.get("handle") for c in cases if isinstance(c, Mapping)]
        if isinstance(cases, list)
        else []
    )
    return (*(n for n in names if isinstance(n, str)), "default")


def _wait_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = [k for k in ("seconds", "until") if data.get(k) is not None]
    if len(given) != 1:
        return [("seconds", "set exactly one of 'seconds' and 'until'")]
    return []


def _switch_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    handles = _switch_handles(data)
    if len(set(handles)) != len(handles):
        return [("cases", "case handles must be unique and not 'default'")]
    return []


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """Everything known about one node type before anything runs."""

    type: str
    name: str
    category: str
    description: str
    config: type[NodeConfig]
    outputs: str
    handles: Callable[[Mapping[str, Any]], tuple[str, ...]] = _no_handles
    """Branch handles the node can take; empty means every out-edge is taken."""
    receives: frozenset[str] = frozenset()
    """Execution data the command carries beyond config and upstream: `inputs`, `vars`."""
    checks: Callable[[Mapping[str, Any]], list[tuple[str, str]]] = field(default=lambda _data: [])
    """Extra (field, message) problems beyond field types."""

    def branch_handles(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        """The handles of a node of this type configured with `data`."""
        return self.handles(data)


CATALOGUE: dict[str, NodeSpec] = {
    spec.type: spec
    for spec in (
        NodeSpec(
            "input",
            "Input",
            "inputs",
            "Declares the execution's inputs and validates them.",
            InputConfig,
            "the validated inputs",
            receives=frozenset({"inputs"}),
        ),
        NodeSpec(
            "output",
            "Output",
            "outputs",
            "One output of the execution, usually a reference such as ${node.output}.",
            OutputConfig,
            "the resolved `output` value",
        ),
        NodeSpec(
            "echo",
            "Echo",
            "utility",
            "Outputs `value`, or what its upstream nodes output.",
            EchoConfig,
            "`value`, or the single upstream output, or upstream outputs by node id",
        ),
        NodeSpec(
            "transform",
            "Transform",
            "data",
            "Reshapes data with a JSONata or JMESPath expression.",
            TransformConfig,
            "the expression's result",
        ),
        NodeSpec(
            "conditional",
            "If / else",
            "logic",
            "Takes the true or false branch on an expression.",
            ConditionalConfig,
            "{result, data}",
            handles=lambda _d: ("true", "false"),
        ),
        NodeSpec(
            "switch",
            "Switch",
            "logic",
            "Takes the branch of the first case equal to an expression's value.",
            SwitchConfig,
            "{value, handle}",
            handles=_switch_handles,
            checks=_switch_problems,
        ),
        NodeSpec(
            "variable",
            "Variable",
            "data",
            "Sets or reads an execution variable.",
            VariableConfig,
            "the variable's value",
            receives=frozenset({"vars"}),
        ),
        NodeSpec(
            "wait",
            "Wait",
            "logic",
            "Pauses this branch for a duration or until a time, on a durable timer.",
            WaitConfig,
            "{waited_until}",
            checks=_wait_problems,
        ),
    )
}


def node_spec(node_type: str) -> NodeSpec | None:
    """The spec of `node_type`, or None when the catalogue has no such type."""
    return CATALOGUE.get(node_type)
