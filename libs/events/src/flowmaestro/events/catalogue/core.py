"""Core node types: input, output, echo, transform, conditional, switch, variable, wait,
and user_input."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec

__all__ = [
    "SPECS",
    "ConditionalConfig",
    "EchoConfig",
    "InputConfig",
    "InputField",
    "OutputConfig",
    "SwitchCase",
    "SwitchConfig",
    "TransformConfig",
    "UserInputConfig",
    "VariableConfig",
    "WaitConfig",
]

ExpressionLanguage = Literal["jsonata", "jmespath"]
InputType = Literal["string", "number", "integer", "boolean", "object", "array"]


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


class UserInputConfig(NodeConfig, frozen=True, kw_only=True):
    """`user_input`: pauses for a person's answer to `prompt`, validated against `schema`.

    In `approval` mode the answer needs `approved` (boolean) and the node takes the
    `approved` or `rejected` branch. With `deadline_seconds`, an unanswered node completes
    with `default` (when given) or fails at the deadline.
    """

    prompt: str = ""
    mode: Literal["form", "approval"] = "form"
    schema: dict[str, InputField] = {}
    deadline_seconds: float | None = None
    default: Any = msgspec.UNSET


class WaitConfig(NodeConfig, frozen=True, kw_only=True):
    """`wait`: pauses this branch for `seconds`, or until the ISO-8601 time `until`."""

    seconds: float | None = None
    until: datetime | None = None


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


def _user_input_handles(data: Mapping[str, Any]) -> tuple[str, ...]:
    return ("approved", "rejected") if data.get("mode") == "approval" else ()


def _user_input_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    deadline = data.get("deadline_seconds")
    if isinstance(deadline, int | float) and deadline <= 0:
        return [("deadline_seconds", "must be positive")]
    return []


def _switch_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    handles = _switch_handles(data)
    if len(set(handles)) != len(handles):
        return [("cases", "case handles must be unique and not 'default'")]
    return []


_EXPRESSION_FIELDS = {"expression": "input"}

SPECS: tuple[NodeSpec, ...] = (
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
        code_fields=_EXPRESSION_FIELDS,
    ),
    NodeSpec(
        "conditional",
        "If / else",
        "logic",
        "Takes the true or false branch on an expression.",
        ConditionalConfig,
        "{result, data}",
        code_fields=_EXPRESSION_FIELDS,
        handles=lambda _d: ("true", "false"),
    ),
    NodeSpec(
        "switch",
        "Switch",
        "logic",
        "Takes the branch of the first case equal to an expression's value.",
        SwitchConfig,
        "{value, handle}",
        code_fields=_EXPRESSION_FIELDS,
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
    NodeSpec(
        "user_input",
        "Human input",
        "people",
        "Pauses until a person answers a form (or approves or rejects) through the API, "
        "the WebSocket or `flowmaestro input`; an optional deadline answers by default or "
        "fails.",
        UserInputConfig,
        "the answer (approval mode: {approved, comment, ...})",
        handles=_user_input_handles,
        checks=_user_input_problems,
    ),
)
