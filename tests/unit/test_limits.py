"""Operator maxima on node size and time settings, and references kept out of code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from flowmaestro.events import CATALOGUE, DefinitionError, Limits
from flowmaestro.events.catalogue import BUILTIN_TYPES
from flowmaestro.events.limits import LIMIT_RULES, limit_problems
from flowmaestro.events.validate import parse_definition
from flowmaestro.runtime.config import node_limits_from_env

# Numeric settings that are neither a size nor a time: factors, scores, budgets, versions.
NOT_SIZES = {"backoff_coefficient", "jitter", "temperature", "min_score", "max_cost_usd", "version"}


def _numeric_fields(config: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    info = msgspec.inspect.type_info(config)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        kinds = (
            field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else [field.type]
        )
        for kind in kinds:
            if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
                found.append((*prefix, field.name))
            elif isinstance(kind, msgspec.inspect.StructType) and not prefix:
                found += _numeric_fields(kind.cls, (field.name,))
    return found


def test_every_size_and_time_setting_of_the_catalogue_has_a_bound() -> None:
    covered = {(t, r.path) for r in LIMIT_RULES for t in (r.types or {"*"})}
    missing = [
        (node_type, path)
        for node_type, spec in CATALOGUE.items()
        if node_type in BUILTIN_TYPES  # a plugin bounds its own settings in its checks
        for path in _numeric_fields(spec.config)
        if path[-1] not in NOT_SIZES
        and (node_type, path) not in covered
        and ("*", path) not in covered
    ]
    assert missing == []
    assert {r.bound for r in LIMIT_RULES} == set(Limits.__struct_fields__)


def one_node(node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": {"n": {"id": "n", "type": node_type, "data": data}}, "edges": []}


def refused(document: dict[str, Any], limits: Limits | None = None) -> list[tuple[Any, ...]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(document, limits or Limits())
    return [(p.node_id, p.field, p.code, p.message) for p in info.value.problems]


@pytest.mark.parametrize(
    ("node_type", "data", "field"),
    [
        ("http", {"url": "https://x.org", "max_response_bytes": 600 * 2**20}, "max_response_bytes"),
        (
            "http",
            {"url": "https://x.org", "request_timeout_seconds": 86_400},
            "request_timeout_seconds",
        ),
        ("file", {"content": "a", "max_bytes": 2**40}, "max_bytes"),
        ("echo", {"timeout_seconds": 1e9}, "timeout_seconds"),
        ("echo", {"retry": {"max_attempts": 1000}}, "retry.max_attempts"),
        ("echo", {"retry": {"maximum_interval_seconds": 1e9}}, "retry.maximum_interval_seconds"),
        (
            "loop",
            {"items": [1], "body": {"nodes": {}, "edges": []}, "concurrency": 10_000},
            "concurrency",
        ),
        ("agent", {"prompt": "p", "max_steps": 10_000}, "max_steps"),
        ("wait", {"seconds": 1e12}, "seconds"),
        ("llm", {"prompt": "p", "max_tokens": 10**9}, "max_tokens"),
        (
            "database",
            {"integration_id": "i", "query": "select 1", "statement_timeout_ms": 10**9},
            "statement_timeout_ms",
        ),
    ],
)
def test_a_setting_over_its_maximum_is_refused_naming_node_field_and_bound(
    node_type: str, data: dict[str, Any], field: str
) -> None:
    found = [p for p in refused(one_node(node_type, data)) if p[2] == "over_limit"]
    assert [(p[0], p[1]) for p in found] == [("n", f"data.{field}")]
    assert "above the maximum" in found[0][3] and "FLOWMAESTRO_MAX_" in found[0][3]


def test_the_operator_chooses_the_maxima() -> None:
    document = one_node("echo", {"timeout_seconds": 120})
    parse_definition(document)  # within the default maximum
    assert refused(document, Limits(timeout_seconds=60))[0][3].endswith(
        "above the maximum 60 (FLOWMAESTRO_MAX_TIMEOUT_SECONDS)"
    )
    limits = node_limits_from_env({"FLOWMAESTRO_MAX_TIMEOUT_SECONDS": "60", "OTHER": "1"})
    assert limits == Limits(timeout_seconds=60)
    with pytest.raises(ValueError, match="FLOWMAESTRO_MAX_"):
        node_limits_from_env({"FLOWMAESTRO_MAX_ROWS": "many"})


def test_nested_workflows_are_bounded_too() -> None:
    body = one_node("echo", {"timeout_seconds": 1e9})
    document = one_node("loop", {"items": [1], "body": body})
    assert refused(document)[0][:3] == ("n", "data.body.n.data.timeout_seconds", "over_limit")


def test_a_reference_is_checked_where_it_resolves_unless_the_engine_needs_a_number() -> None:
    assert limit_problems("n", "wait", {"seconds": "${inputs.s}"}) == []
    assert limit_problems("n", "wait", {"seconds": 1e12})
    body = {"nodes": {}, "edges": []}
    found = limit_problems("n", "loop", {"items": [], "body": body, "concurrency": "${inputs.c}"})
    assert [(p.field, p.code) for p in found] == [("data.concurrency", "type")]


@pytest.mark.parametrize(
    ("node_type", "data", "field", "carrier"),
    [
        ("code", {"code": "return ${inputs.x}"}, "code", "input"),
        ("code", {"language": "python", "code": "return '${n.output}'"}, "code", "input"),
        ("database", {"integration_id": "i", "query": "select '${inputs.x}'"}, "query", "params"),
        ("transform", {"expression": "$.a & '${inputs.x}'"}, "expression", "input"),
        ("conditional", {"expression": "${inputs.x} = 1"}, "expression", "input"),
        ("switch", {"expression": "${inputs.x}", "cases": []}, "expression", "input"),
        ("code", {"code": "return `${a + b}`"}, "code", "input"),
    ],
)
def test_references_inside_code_sql_and_expressions_are_refused(
    node_type: str, data: dict[str, Any], field: str, carrier: str
) -> None:
    found = [p for p in refused(one_node(node_type, data)) if p[2] == "reference_in_code"]
    assert [(p[0], p[1]) for p in found] == [("n", f"data.{field}")]
    assert f"data.{carrier}" in found[0][3]


def test_values_reach_code_as_data_and_a_literal_dollar_brace_is_escaped() -> None:
    parse_definition(one_node("code", {"code": "return input.x * 2", "input": "${inputs.x}"}))
    parse_definition(one_node("code", {"code": "return `$${input.x}`", "input": {"x": 1}}))
    parse_definition(
        one_node(
            "database",
            {"integration_id": "i", "query": "select %s", "params": ["${inputs.x}"]},
        )
    )


def test_a_wait_until_is_bounded_from_the_commands_time() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    far, near = "2031-06-01T00:00:00Z", "2030-01-02T00:00:00+00:00"
    limits = Limits(wait_seconds=7 * 86_400)
    assert limit_problems("n", "wait", {"until": far}, limits) == []  # no clock here
    assert limit_problems("n", "wait", {"until": near}, limits, now=now) == []
    (problem,) = limit_problems("n", "wait", {"until": far}, limits, now=now)
    assert (problem.field, problem.code) == ("data.until", "over_limit")
    assert "s ahead, above the maximum 604800" in problem.message
