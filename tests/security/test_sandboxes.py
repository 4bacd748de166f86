"""Sandboxes and worker pools under attack, through real workflow runs.

Each attack fails only the attacker's node, with the kind that names the limit, while
another tenant's run in flight completes normally and the executor keeps serving.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.gateway import User, data_of
from tests.support.pdf import make_page_bomb
from tests.support.runs import bystander, run_to_end


def single(node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`node` of `node_type` → `out` (its output)."""
    return {
        "nodes": {
            "node": {"id": "node", "type": node_type, "position": {"x": 0, "y": 0}, "data": data},
            "out": {
                "id": "out",
                "type": "output",
                "position": {"x": 200, "y": 0},
                "data": {"output": "${node.output}"},
            },
        },
        "edges": [{"id": "e", "source": "node", "target": "out"}],
    }


def failure(detail: dict[str, Any]) -> dict[str, Any]:
    """The failed run's error; asserts the run failed."""
    assert detail["status"] == "failed", detail
    assert detail["error"] is not None, detail
    return detail["error"]


async def fails_with(
    client: httpx.AsyncClient,
    attacker: User,
    bystanders: User,
    definition: dict[str, Any],
    kind: str,
) -> dict[str, Any]:
    """Run the attack while a bystander's run is in flight; assert its node failed as `kind`."""
    async with bystander(client, bystanders):
        detail = await run_to_end(client, attacker, definition, timeout=60)
    error = failure(detail)
    assert error["kind"] == kind, error
    assert detail["nodes"]["node"]["attempts"][-1]["error"]["terminal"] is True
    return error


async def test_many_javascript_nodes_at_once_all_complete(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    branches = 6
    nodes: dict[str, Any] = {
        "start": {"id": "start", "type": "echo", "position": {"x": 0, "y": 0}, "data": {}}
    }
    edges = []
    code = "let s = 0; for (let i = 0; i < 2e5; i++) { s += i % 7 } return s + input.k"
    for i in range(branches):
        nodes[f"js{i}"] = {
            "id": f"js{i}",
            "type": "code",
            "position": {"x": 200, "y": 100 * i},
            "data": {"language": "javascript", "code": code, "input": {"k": i}},
        }
        nodes[f"out{i}"] = {
            "id": f"out{i}",
            "type": "output",
            "position": {"x": 400, "y": 100 * i},
            "data": {"output": f"${{js{i}.output}}"},
        }
        edges += [
            {"id": f"a{i}", "source": "start", "target": f"js{i}"},
            {"id": f"b{i}", "source": f"js{i}", "target": f"out{i}"},
        ]
    definition = {"nodes": nodes, "edges": edges}
    async with bystander(client, alice):
        detail = await run_to_end(client, mallory, definition, timeout=60)
        again = await run_to_end(client, mallory, definition, timeout=60)
    base = sum(i % 7 for i in range(200_000))
    for run in (detail, again):
        assert run["status"] == "completed", run
        assert run["outputs"] == {f"out{i}": base + i for i in range(branches)}


async def test_an_array_buffer_beyond_the_memory_limit_is_a_memory_error(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    code = "const a = new ArrayBuffer(2 * 1024 ** 3); new Uint8Array(a).fill(1); return 1"
    data = {"language": "javascript", "code": code, "memory_limit_mb": 16}
    await fails_with(client, mallory, alice, single("code", data), "memory")


async def test_webassembly_is_refused_unless_the_node_asks_for_it(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    code = "const m = new WebAssembly.Memory({initial: 4000}); return m.buffer.byteLength"
    data = {"language": "javascript", "code": code, "memory_limit_mb": 16}
    error = await fails_with(client, mallory, alice, single("code", data), "code")
    assert "WebAssembly is not defined" in error["message"]
    touched = code.replace("return", "new Uint8Array(m.buffer).fill(1); return")
    asked = {**data, "code": touched, "webassembly": True}
    await fails_with(client, mallory, alice, single("code", asked), "memory")
    small = {**data, "code": "return WebAssembly.validate(new Uint8Array([0]))"}
    allowed = await run_to_end(client, mallory, single("code", {**small, "webassembly": True}))
    assert allowed["status"] == "completed" and allowed["outputs"] == {"out": False}


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nwhile True:\n    sys.__stdout__.write('x' * 65536)",
        "import random\nwhile True:\n    random._os.write(1, b'x' * 65536)",
    ],
)
async def test_a_python_output_flood_is_an_output_error(
    client: httpx.AsyncClient, mallory: User, alice: User, code: str
) -> None:
    data = {"language": "python", "code": code, "time_limit_seconds": 10}
    error = await fails_with(client, mallory, alice, single("code", data), "output")
    assert "wrote more than" in error["message"]


@pytest.mark.parametrize(
    ("language", "expression"),
    [
        ("jsonata", '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)'),
        ("jsonata", "$sum([1..1e7])"),
        ("jmespath", "|".join(["[@, @]"] * 40)),
    ],
)
async def test_a_runaway_expression_times_out_alone(
    client: httpx.AsyncClient, mallory: User, alice: User, language: str, expression: str
) -> None:
    data = {"language": language, "expression": expression, "input": {}, "timeout_ms": 500}
    error = await fails_with(client, mallory, alice, single("transform", data), "timeout")
    assert "500 ms" in error["message"]
    fine = await run_to_end(
        client,
        mallory,
        single("transform", {**data, "expression": "`1`" if language == "jmespath" else "1"}),
    )
    assert fine["status"] == "completed" and fine["outputs"] == {"out": 1}


async def test_a_page_bomb_pdf_is_a_parse_error(
    client: httpx.AsyncClient, mallory: User, alice: User
) -> None:
    data = {"format": "pdf", "content": make_page_bomb().decode()}
    error = await fails_with(client, mallory, alice, single("file", data), "parse")
    assert "more than once" in error["message"]


async def test_a_slow_pdf_is_stopped_at_the_time_limit(
    client: httpx.AsyncClient, mallory: User, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWMAESTRO_DOCUMENT_TIMEOUT_S", "1")
    data = {"format": "pdf", "content": make_page_bomb(60, distinct=True).decode()}
    error = await fails_with(client, mallory, alice, single("file", data), "parse")
    assert "longer than 1s" in error["message"]


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"<r>" + b"<a/>" * 250_000 + b"</r>", "more than 200000 elements"),
        (b"<a>" * 5000 + b"</a>" * 5000, "deeper than 100"),
    ],
)
async def test_a_wide_or_deep_xml_is_a_parse_error(
    client: httpx.AsyncClient, mallory: User, alice: User, document: bytes, words: str
) -> None:
    uploaded = data_of(
        await client.post(
            "/api/files",
            files={"data": ("wide.xml", document, "application/xml")},
            headers=mallory.headers,
        ),
        201,
    )
    data = {"file_id": uploaded["id"]}
    error = await fails_with(client, mallory, alice, single("file", data), "parse")
    assert words in error["message"]
