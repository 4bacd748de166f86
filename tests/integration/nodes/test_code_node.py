"""`code` runs JavaScript and Python inside workflows; hostile code fails only its node."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.support.engine import run
from tests.support.workflows import one_node

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("javascript", "return {total: input.items.reduce((s, i) => s + i.price, 0)}"),
        ("python", "return {'total': sum(i['price'] for i in input['items'])}"),
    ],
)
async def test_code_reads_upstream_and_returns_json(
    engine: Client, language: str, code: str
) -> None:
    upstream = {"items": [{"price": 2}, {"price": 5}]}
    data = {"language": language, "code": code}
    state, _ = await run(engine, one_node("code", data, upstream=upstream))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == {"total": 7}


@pytest.mark.parametrize(
    ("language", "code", "kind"),
    [
        ("python", "return open('/etc/passwd').read()", "forbidden"),
        ("python", "import os\nwhile True:\n    os.fork()", "forbidden"),
        ("python", "while True:\n    pass", "timeout"),
        ("python", "return bytearray(10 * 1024**3)", "memory"),
        ("python", "return object()", "output"),
        ("javascript", "while (true) {}", "timeout"),
        ("javascript", "const a = []; while (true) a.push(new Array(1e5).fill(1))", "memory"),
        ("javascript", "return require('fs')", "code"),
        ("javascript", "return () => 1", "output"),
    ],
)
async def test_hostile_code_fails_its_node_terminally(
    engine: Client, language: str, code: str, kind: str
) -> None:
    data = {"language": language, "code": code, "time_limit_seconds": 0.5, "memory_limit_mb": 64}
    state, _ = await run(engine, one_node("code", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == kind
    assert state.error.terminal and state.nodes["node"].attempt == 1


async def test_the_executor_still_works_after_hostile_code(engine: Client) -> None:
    data = {"language": "python", "code": "return input * 2"}
    state, _ = await run(engine, one_node("code", data, upstream=21))
    assert state.outputs["result"] == 42
