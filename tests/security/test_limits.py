"""Every size and time setting has an operator maximum, and references never become code:
refused with the node and field named, while another tenant's run completes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.gateway import User, error_of
from tests.support.runs import bystander, run_to_end


def one_node(node_type: str, data: dict[str, Any], inputs: dict[str, str] | None = None) -> dict:
    """An input node declaring `inputs`, then `node_type`, its output the workflow's."""
    schema = {name: {"type": kind} for name, kind in (inputs or {}).items()}
    return {
        "nodes": {
            "in": {"id": "in", "type": "input", "data": {"schema": schema}},
            "n": {"id": "n", "type": node_type, "data": data},
            "out": {"id": "out", "type": "output", "data": {"output": "${n.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "in", "target": "n"},
            {"id": "e2", "source": "n", "target": "out"},
        ],
    }


async def refused(client: httpx.AsyncClient, user: User, definition: dict) -> list[dict]:
    response = await client.post(
        "/api/workflows", json={"name": "attack", "definition": definition}, headers=user.headers
    )
    return error_of(response, 400)["details"]


async def test_settings_beyond_the_operators_maxima_are_refused(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    attacks = [
        ("http", {"url": "https://example.org", "max_response_bytes": 600 * 2**20}),
        ("http", {"url": "https://example.org", "request_timeout_seconds": 10**7}),
        ("file", {"content": "a", "max_bytes": 2**40}),
        ("echo", {"timeout_seconds": 10**9}),
        ("echo", {"retry": {"max_attempts": 10**6}}),
        ("agent", {"prompt": "hi", "max_steps": 10**6}),
        ("wait", {"seconds": 10**12}),
    ]
    async with bystander(client, alice):
        for node_type, data in attacks:
            details = await refused(client, mallory, one_node(node_type, data))
            field = next(k for k in data if k not in ("url", "content", "prompt"))
            hits = [d for d in details if d["code"] == "over_limit"]
            assert len(hits) == 1 and hits[0]["node_id"] == "n", details
            assert hits[0]["field"].startswith(f"data.{field}")
            assert "above the maximum" in hits[0]["message"]


async def test_a_reference_cannot_carry_a_setting_past_its_maximum(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    pause = one_node("wait", {"seconds": "${inputs.s}"}, {"s": "number"})
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, pause, {"s": 10**12})
    assert detail["status"] == "failed"
    error = detail["nodes"]["n"]["error"]
    assert error["kind"] == "invalid_config" and "data.seconds" in error["message"]


async def test_references_are_refused_inside_code_sql_and_expressions(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    attacks = [
        ("code", {"code": "return ${inputs.x}"}, "code", "input"),
        ("code", {"language": "python", "code": "return '${inputs.x}'"}, "code", "input"),
        ("database", {"integration_id": "i", "query": "select '${inputs.x}'"}, "query", "params"),
        ("transform", {"expression": "'${inputs.x}'"}, "expression", "input"),
        ("conditional", {"expression": "${inputs.x} = 1"}, "expression", "input"),
        ("switch", {"expression": "${inputs.x}"}, "expression", "input"),
    ]
    async with bystander(client, alice):
        for node_type, data, field, carrier in attacks:
            details = await refused(client, mallory, one_node(node_type, data, {"x": "string"}))
            hits = [d for d in details if d["code"] == "reference_in_code"]
            assert [(d["node_id"], d["field"]) for d in hits] == [("n", f"data.{field}")]
            assert f"data.{carrier}" in hits[0]["message"]


async def test_values_reach_code_as_data_and_stay_data(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    hostile = "'); throw new Error('injected'); ('"
    code = one_node(
        "code", {"code": "return input.x.length", "input": {"x": "${inputs.x}"}}, {"x": "string"}
    )
    transform = one_node(
        "transform", {"expression": "x", "input": {"x": "${inputs.x}"}}, {"x": "string"}
    )
    async with bystander(client, alice):
        ran = await run_to_end(client, mallory, code, {"x": hostile})
        reshaped = await run_to_end(client, mallory, transform, {"x": "$sum([1..1e7])"})
    assert ran["status"] == "completed" and ran["outputs"]["out"] == len(hostile), ran
    assert reshaped["status"] == "completed" and reshaped["outputs"]["out"] == "$sum([1..1e7])"
