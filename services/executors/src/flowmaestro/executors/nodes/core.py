"""Executors of the core node types: input, output, echo, transform, conditional, switch,
variable and wait."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec

from flowmaestro.events import check_inputs
from flowmaestro.events.catalogue import (
    ConditionalConfig,
    EchoConfig,
    InputConfig,
    OutputConfig,
    SwitchConfig,
    TransformConfig,
    UserInputConfig,
    VariableConfig,
    WaitConfig,
)
from flowmaestro.events.definition import Node, WorkflowDefinition
from flowmaestro.events.errors import InputValidationError
from flowmaestro.executors.context import Deferred, NodeContext, NodeResult, upstream_document
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.expressions import evaluate, truthy

__all__ = [
    "run_conditional",
    "run_echo",
    "run_input",
    "run_output",
    "run_switch",
    "run_transform",
    "run_user_input",
    "run_variable",
    "run_wait",
]


async def run_input(ctx: NodeContext, config: InputConfig) -> NodeResult:
    """Validate the execution inputs against this node's schema; output the declared ones."""
    schema = msgspec.to_builtins(config.schema)
    single = WorkflowDefinition(
        nodes={ctx.node_id: Node(id=ctx.node_id, type="input", data={"schema": schema})}
    )
    try:
        inputs = check_inputs(single, ctx.command.inputs or {})
    except InputValidationError as exc:
        raise TerminalNodeError(str(exc), kind="invalid_input") from exc
    return NodeResult(output={name: inputs.get(name) for name in config.schema})


def _value_or_upstream(ctx: NodeContext, value: Any) -> Any:
    return upstream_document(ctx) if value is msgspec.UNSET else value


async def run_output(ctx: NodeContext, config: OutputConfig) -> NodeResult:
    """Output `output`, or else what flows in."""
    return NodeResult(output=_value_or_upstream(ctx, config.output))


async def run_echo(ctx: NodeContext, config: EchoConfig) -> NodeResult:
    """Output `value`, or else what flows in (after an optional delay or staged failures)."""
    if config.delay_seconds > 0:
        await asyncio.sleep(config.delay_seconds)
    if ctx.command.attempt <= config.fail_first_attempts:
        raise RetryableNodeError(
            f"failing attempt {ctx.command.attempt} of the first "
            f"{config.fail_first_attempts} on purpose",
            kind="staged",
        )
    return NodeResult(output=_value_or_upstream(ctx, config.value))


async def _evaluate(
    ctx: NodeContext, config: TransformConfig | ConditionalConfig | SwitchConfig
) -> tuple[Any, Any]:
    document = _value_or_upstream(ctx, config.input)
    value = await evaluate(
        config.language,
        config.expression,
        document,
        config.timeout_ms,
        config.max_depth,
        owner=ctx.command.owner_id or "",
    )
    return document, value


async def run_transform(ctx: NodeContext, config: TransformConfig) -> NodeResult:
    """Output the expression's value."""
    return NodeResult(output=(await _evaluate(ctx, config))[1])


async def run_conditional(ctx: NodeContext, config: ConditionalConfig) -> NodeResult:
    """Take `true` or `false` by the expression's truthiness; pass the data through."""
    document, value = await _evaluate(ctx, config)
    result = truthy(value)
    return NodeResult(
        output={"result": result, "data": document}, handles=["true" if result else "false"]
    )


async def run_switch(ctx: NodeContext, config: SwitchConfig) -> NodeResult:
    """Take the handle of the first case equal to the expression's value, else `default`."""
    _document, value = await _evaluate(ctx, config)
    handle = next((case.handle for case in config.cases if case.value == value), "default")
    return NodeResult(output={"value": value, "handle": handle}, handles=[handle])


async def run_variable(ctx: NodeContext, config: VariableConfig) -> NodeResult:
    """Set (output and record) or get an execution variable."""
    if config.operation == "set":
        return NodeResult(output=config.value, vars={config.name: config.value})
    variables = ctx.command.vars or {}
    if config.name not in variables:
        raise TerminalNodeError(f"variable {config.name!r} is not set", kind="unknown_variable")
    return NodeResult(output=variables[config.name])


async def run_wait(ctx: NodeContext, config: WaitConfig) -> Deferred:
    """Park the node on a durable timer; the timer itself writes the completion."""
    if config.until is not None:
        until = config.until
        if until.tzinfo is None:
            raise TerminalNodeError(
                "'until' needs a time zone, as in 2030-01-01T00:00:00Z", kind="invalid_config"
            )
    else:
        until = ctx.command.scheduled_at + timedelta(seconds=config.seconds or 0)
    await ctx.complete_at(until, {"waited_until": until.isoformat()})
    return Deferred(until=until)


async def run_user_input(ctx: NodeContext, config: UserInputConfig) -> Deferred:
    """Park the node until a person answers; arm the deadline timer when there is one."""
    until = None
    if config.deadline_seconds is not None:
        until = ctx.command.scheduled_at + timedelta(seconds=config.deadline_seconds)
        if config.default is not msgspec.UNSET:
            handles = None
            if config.mode == "approval":
                approved = isinstance(config.default, dict) and config.default.get("approved")
                handles = ["approved" if approved else "rejected"]
            await ctx.complete_at(until, config.default, handles)
        else:
            await ctx.fail_at(until, f"no answer within {config.deadline_seconds:g}s")
    request = {
        "prompt": config.prompt,
        "mode": config.mode,
        "schema": msgspec.to_builtins(config.schema),
    }
    return Deferred(until=until, request=request)
