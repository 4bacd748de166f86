"""Large values travel by reference; what cannot fit fails alone, never the log path.

Each test runs a real workflow through the gateway (the attacker's), reads its log, and
checks that another tenant's small run completes meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
from nats.aio.client import Client

from flowmaestro.events import ExecutionFailed, NodeCompleted, NodeFailed, fold
from flowmaestro.events.names import output_object
from flowmaestro.runtime import ExecutionLog
from tests.support.gateway import User, data_of
from tests.support.runs import ECHO, bystander, create_workflow, run_to_end, start_run, wait_end


def _node(node_id: str, node_type: str, data: dict[str, Any], x: int = 0) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": x, "y": 0}, "data": data}


def _chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return {"nodes": {n["id"]: n for n in nodes}, "edges": edges}


def _large_chain(size: int) -> dict[str, Any]:
    """Code makes `size` characters; an echo passes them on whole; a transform counts them."""
    code = f"return 'x'.repeat({size});"
    return _chain(
        _node("make", "code", {"language": "javascript", "code": code, "memory_limit_mb": 256}),
        _node("pass", "echo", {"value": "${make.output}"}, 220),
        _node("count", "transform", {"expression": "$length($)", "input": "${pass.output}"}, 440),
        _node("out", "output", {"output": "${count.output}"}, 660),
    )


async def test_2_and_20_mb_outputs_flow_by_reference_while_a_small_run_stays_fast(
    client: httpx.AsyncClient, nc: Client, mallory: User, alice: User
) -> None:
    sizes = (2_000_000, 20_000_000)
    runs = [
        await start_run(client, mallory, await create_workflow(client, mallory, _large_chain(n)))
        for n in sizes
    ]
    async with bystander(client, alice) as watcher:
        began = time.monotonic()
        small = await run_to_end(client, alice, ECHO)
        assert small["status"] == "completed" and small["outputs"] == {"out": 2}
        assert time.monotonic() - began < 1.0, "a small run waited behind the large ones"
        details = [await wait_end(client, mallory, run, timeout=60) for run in runs]
    assert max(watcher.durations) < 1.0, watcher.durations
    for size, detail in zip(sizes, details, strict=True):
        assert detail["status"] == "completed", detail.get("error")
        assert detail["outputs"] == {"out": size}
    for run in runs:
        records = await ExecutionLog(nc).read(run)
        results = {e.node_id: e for _, e in records if isinstance(e, NodeCompleted)}
        for node_id in ("make", "pass"):
            assert results[node_id].output is None, f"{node_id} travelled inline"
            assert results[node_id].output_ref == output_object(mallory.id, run, node_id, 1)


async def test_a_command_over_the_servers_limit_fails_only_its_node(
    client: httpx.AsyncClient, nc: Client, mallory: User, alice: User
) -> None:
    # The inputs fit in one event; the echo's command repeats them past 1 MiB.
    doc = _chain(
        _node("start", "input", {"schema": {"x": {"type": "string", "required": True}}}),
        _node("grow", "echo", {"value": "${inputs.x}" * 4}, 220),
    )
    async with bystander(client, alice) as watcher:
        detail = await run_to_end(client, mallory, doc, {"x": "y" * 300_000})
        await watcher.run_once()
    assert detail["status"] == "failed"
    state = fold(await ExecutionLog(nc).read(detail["id"]))
    error = state.nodes["grow"].error
    assert error is not None and error.kind == "too_large" and error.terminal
    assert "1048576 bytes" in error.message and "the command for node 'grow'" in error.message
    assert state.nodes["grow"].attempt == 1, "a value that cannot fit is not retried"


async def test_an_event_the_log_refuses_fails_its_execution_alone(
    client: httpx.AsyncClient, nc: Client, mallory: User, alice: User
) -> None:
    # Five outputs of 250 KB each stay under the inline limit one by one; together
    # they make an `execution.completed` over the server's limit.
    nodes: dict[str, Any] = {}
    edges = []
    for i in range(5):
        code = f"return '{i}'.repeat(250000);"
        nodes[f"c{i}"] = _node(f"c{i}", "code", {"language": "javascript", "code": code})
        nodes[f"o{i}"] = _node(f"o{i}", "output", {"output": f"${{c{i}.output}}"}, 220)
        edges.append({"id": f"e{i}", "source": f"c{i}", "target": f"o{i}"})
    async with bystander(client, alice) as watcher:
        detail = await run_to_end(client, mallory, {"nodes": nodes, "edges": edges})
        await watcher.run_once()
    assert detail["status"] == "failed"
    records = await ExecutionLog(nc).read(detail["id"])
    failed = [e for _, e in records if isinstance(e, ExecutionFailed)]
    assert len(failed) == 1 and failed[0].error.kind == "poison"
    assert f"{detail['id']}:end" in failed[0].error.message
    assert "over the server's limit of 1048576 bytes" in failed[0].error.message


async def test_a_forged_output_reference_reads_nothing_of_another_run(
    client: httpx.AsyncClient, nc: Client, mallory: User, alice: User
) -> None:
    secret = _large_chain(300_000)
    victim = await run_to_end(client, alice, secret)
    assert victim["status"] == "completed"
    forged = {"$fm.output_ref": output_object(alice.id, victim["id"], "make", 1)}
    doc = _chain(_node("steal", "echo", {"value": forged}))
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, doc)
    assert detail["status"] == "failed"
    records = await ExecutionLog(nc).read(detail["id"])
    failure = next(e for _, e in records if isinstance(e, NodeFailed))
    assert failure.error.kind == "reference" and "no stored output" in failure.error.message
    assert not any(isinstance(e, NodeCompleted) for _, e in records)


async def test_a_start_over_the_servers_limit_answers_413(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    doc = _chain(_node("start", "input", {"schema": {"x": {"type": "string"}}}))
    workflow_id = await create_workflow(client, mallory, doc)
    async with bystander(client, alice):
        response = await client.post(
            "/api/workflows/execute",
            json={"workflow_id": workflow_id, "inputs": {"x": "z" * 2_000_000}},
            headers=mallory.headers,
        )
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["error"]["details"]["limit_bytes"] == 1048576
    assert body["error"]["details"]["size_bytes"] > 2_000_000
    await asyncio.sleep(0)
    assert data_of(await client.get("/health"))  # the gateway's connection is still up
