"""Upper bounds on every size and time setting of a node, chosen by the operator.

`Limits` is plain data: the gateway and the CLI read it from the environment (one
`FLOWMAESTRO_MAX_<FIELD>` variable per field) and pass it to the validator; executors
check resolved configs against the same values, so a `${...}` reference cannot carry a
value past a bound. Every problem names the node, the field and the bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

import msgspec

from flowmaestro.events.errors import Problem

__all__ = [
    "BATCH_CONCURRENCY_CEILING",
    "BATCH_ROWS_CEILING",
    "DEFAULT_BATCH_LIMITS",
    "DEFAULT_LIMITS",
    "LIMIT_RULES",
    "BatchLimits",
    "LimitRule",
    "Limits",
    "TriggerLimits",
    "limit_problems",
]

_DAY = 86_400.0
_MIB = 1024 * 1024


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The largest value each size or time setting may take (one field per bound)."""

    timeout_seconds: float = 3600.0
    """Any node's `timeout_seconds`."""
    retry_attempts: int = 10
    """`retry.max_attempts`."""
    retry_interval_seconds: float = 3600.0
    """`retry.initial_interval_seconds` and `retry.maximum_interval_seconds`."""
    cache_ttl_seconds: float = 30 * _DAY
    """`cache.ttl_seconds`."""
    request_timeout_seconds: float = 300.0
    """http and webhook `request_timeout_seconds`, agent `tool_timeout_seconds`."""
    response_bytes: int = 50 * _MIB
    """http `max_response_bytes`."""
    file_bytes: int = 50 * _MIB
    """file `max_bytes`."""
    rows: int = 100_000
    """file and database `max_rows`."""
    statement_timeout_ms: int = 300_000
    """database `statement_timeout_ms`."""
    code_seconds: float = 60.0
    """code `time_limit_seconds`."""
    code_memory_mb: int = 2048
    """code `memory_limit_mb`."""
    expression_timeout_ms: int = 10_000
    """transform, conditional and switch `timeout_ms`."""
    expression_depth: int = 1000
    """transform, conditional and switch `max_depth`."""
    loop_concurrency: int = 64
    """loop `concurrency`."""
    agent_steps: int = 50
    """agent `max_steps`."""
    llm_tokens: int = 64_000
    """llm, agent and vision `max_tokens`."""
    wait_seconds: float = 30 * _DAY
    """wait `seconds` (and how far ahead `until` lies) and user_input `deadline_seconds`."""
    search_results: int = 1000
    """semantic_search `top_k`."""
    page_size: int = 100
    """notion `page_size`."""
    embedding_dimensions: int = 8192
    """embeddings `dimensions`."""


DEFAULT_LIMITS = Limits()

BATCH_CONCURRENCY_CEILING = 1000
"""No operator may allow more executions of one batch at once (the API documents it)."""
BATCH_ROWS_CEILING = 100_000
"""No operator may allow more rows in one batch (the API documents it)."""


class BatchLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The operator's maxima for batches (`FLOWMAESTRO_MAX_BATCH_<FIELD>`)."""

    concurrency: Annotated[int, msgspec.Meta(ge=1, le=BATCH_CONCURRENCY_CEILING)] = 100
    """How many executions of one batch may run at once (a batch asks for at most this)."""
    rows: Annotated[int, msgspec.Meta(ge=1, le=BATCH_ROWS_CEILING)] = 10_000
    """How many rows (executions) one batch may hold."""
    body_bytes: Annotated[int, msgspec.Meta(ge=1)] = 10 * _MIB
    """How large a batch's CSV upload or JSON body may be."""


DEFAULT_BATCH_LIMITS = BatchLimits()


class TriggerLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The operator's bounds on triggers, each from `FLOWMAESTRO_MAX_<FIELD>` (or, for
    the one minimum, `FLOWMAESTRO_MIN_TRIGGER_INTERVAL_SECONDS`)."""

    webhook_body_bytes: int = _MIB
    """The largest webhook request body; a larger one is refused with 413."""
    webhook_wait_seconds: float = 60.0
    """The longest a synchronous webhook may wait for its run's outputs."""
    webhook_requests: int = 60
    """Requests one webhook trigger admits per `webhook_window_seconds` (past it: 429)."""
    webhook_window_seconds: float = 60.0
    """The rate-limit window of `webhook_requests`."""
    webhook_replay_window_seconds: float = 3600.0
    """The widest replay window a webhook may set."""
    min_trigger_interval_seconds: float = 60.0
    """The shortest gap a cron schedule may leave between two fires (a minimum)."""
    event_body_bytes: int = 256 * 1024
    """The largest event a tenant publishes through `POST /api/events/...` (413 past it)."""
    event_requests: int = 120
    """Events one tenant may publish per `event_window_seconds` (past it: 429)."""
    event_window_seconds: float = 60.0
    """The rate-limit window of `event_requests`."""


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One bounded setting: where it is (node types, path in `data`) and which bound."""

    types: frozenset[str] | None
    """Node types the setting belongs to; None for every type."""
    path: tuple[str, ...]
    bound: str
    """The `Limits` field holding the maximum."""
    minimum: float = 0.0
    """The value must be above this (or equal, with `inclusive`)."""
    inclusive: bool = False
    literal: bool = False
    """The engine reads it before references resolve: it must be a number."""
    moment: bool = False
    """An ISO-8601 time, bounded by how far after the command's `now` it lies."""


def _types(*names: str) -> frozenset[str]:
    return frozenset(names)


_EXPRESSIONS = _types("transform", "conditional", "switch")

LIMIT_RULES: tuple[LimitRule, ...] = (
    LimitRule(None, ("timeout_seconds",), "timeout_seconds"),
    LimitRule(None, ("retry", "max_attempts"), "retry_attempts", 1, inclusive=True, literal=True),
    LimitRule(
        None, ("retry", "initial_interval_seconds"), "retry_interval_seconds", inclusive=True
    ),
    LimitRule(
        None, ("retry", "maximum_interval_seconds"), "retry_interval_seconds", inclusive=True
    ),
    LimitRule(None, ("cache", "ttl_seconds"), "cache_ttl_seconds"),
    LimitRule(_types("http", "webhook"), ("request_timeout_seconds",), "request_timeout_seconds"),
    LimitRule(_types("agent"), ("tool_timeout_seconds",), "request_timeout_seconds"),
    LimitRule(_types("http"), ("max_response_bytes",), "response_bytes"),
    LimitRule(_types("file"), ("max_bytes",), "file_bytes"),
    LimitRule(_types("file", "database"), ("max_rows",), "rows"),
    LimitRule(_types("database"), ("statement_timeout_ms",), "statement_timeout_ms"),
    LimitRule(_types("code"), ("time_limit_seconds",), "code_seconds"),
    LimitRule(_types("code"), ("memory_limit_mb",), "code_memory_mb"),
    LimitRule(_EXPRESSIONS, ("timeout_ms",), "expression_timeout_ms"),
    LimitRule(_EXPRESSIONS, ("max_depth",), "expression_depth"),
    LimitRule(_types("loop"), ("concurrency",), "loop_concurrency", literal=True),
    LimitRule(_types("agent"), ("max_steps",), "agent_steps"),
    LimitRule(_types("llm", "agent", "vision"), ("max_tokens",), "llm_tokens"),
    LimitRule(_types("wait"), ("seconds",), "wait_seconds", inclusive=True),
    LimitRule(_types("wait"), ("until",), "wait_seconds", moment=True),
    LimitRule(_types("user_input"), ("deadline_seconds",), "wait_seconds"),
    LimitRule(_types("semantic_search"), ("top_k",), "search_results"),
    LimitRule(_types("notion"), ("page_size",), "page_size"),
    LimitRule(_types("embeddings"), ("dimensions",), "embedding_dimensions"),
    LimitRule(_types("echo"), ("delay_seconds",), "timeout_seconds", inclusive=True),
    LimitRule(_types("echo"), ("fail_first_attempts",), "retry_attempts", inclusive=True),
)
"""Every bounded setting of the catalogue (a test checks none is missed)."""


def _value_at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for step in path:
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _seconds_after(value: Any, now: datetime) -> float | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - now).total_seconds()


def limit_problems(
    node_id: str,
    node_type: str,
    data: Mapping[str, Any],
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> list[Problem]:
    """Bounded settings of one node's `data` that exceed `limits` (or fall below a minimum).

    A `${...}` reference is checked where it resolves (the executor), unless the rule says
    the engine needs a literal number. A time such as wait's `until` is checked only when
    `now` is given (the command's scheduling time: this module reads no clock).
    """
    problems: list[Problem] = []
    for rule in LIMIT_RULES:
        if rule.types is not None and node_type not in rule.types:
            continue
        value = _value_at(data, rule.path)
        if value is None:
            continue
        field = "data." + ".".join(rule.path)
        if rule.moment:
            value = _seconds_after(value, now) if now is not None else None
            if value is None:
                continue
            rule = replace(rule, minimum=float("-inf"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            if rule.literal and isinstance(value, str):
                problems.append(
                    Problem(f"{field} must be a number, not a reference", node_id, field, "type")
                )
            continue
        maximum = getattr(limits, rule.bound)
        low_ok = value >= rule.minimum if rule.inclusive else value > rule.minimum
        if not low_ok:
            relation = "at least" if rule.inclusive else "more than"
            problems.append(
                Problem(
                    f"{field} must be {relation} {rule.minimum:g}", node_id, field, "out_of_range"
                )
            )
        elif value > maximum:
            problems.append(
                Problem(
                    f"{field} is {value:g}{' s ahead' if rule.moment else ''}, "
                    f"above the maximum {maximum:g} "
                    f"(FLOWMAESTRO_MAX_{rule.bound.upper()})",
                    node_id,
                    field,
                    "over_limit",
                )
            )
    return problems
