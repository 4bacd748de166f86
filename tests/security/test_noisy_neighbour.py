"""One tenant's hostile load does not slow another tenant's runs down.

Tenant A (mallory) starts 8 hostile workflows at once: JavaScript and Python loops, a
catastrophic regex and page-bomb PDFs. Meanwhile tenant B (alice) runs an echo chain, an
http request to a local fake, a JavaScript and a Python probe. Each of B's probes must
finish within twice its idle latency, measured first in the same test, plus 0.5 s: the
machine may have two cores, and A's loops keep both busy (user work runs at a lower
priority, which is what leaves B's runs their share).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.fakes.http import FakeHttpServer, Request, Response
from tests.security.test_sandboxes import single
from tests.support.gateway import User
from tests.support.pdf import make_page_bomb
from tests.support.runs import ECHO, create_workflow, run_to_end, start_run, wait_end

FLOOR_S = 0.5
PROBE_RUNS = 3
HOSTILE_SECONDS = 12


def hostile_workflows() -> list[dict[str, Any]]:
    """Eight workflows that each keep a core busy for seconds, or try to."""
    js = {"language": "javascript", "code": "while (true) {}"}
    py = {"language": "python", "code": "while True:\n    pass"}
    regex = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)'
    limit = {"time_limit_seconds": HOSTILE_SECONDS}
    return [
        single("code", {**js, **limit}),
        single("code", {**js, **limit}),
        single("code", {**py, **limit}),
        single("code", {**py, **limit}),
        single("transform", {"expression": regex, "input": {}, "timeout_ms": 8000}),
        single("transform", {"expression": regex, "input": {}, "timeout_ms": 8000}),
        single("file", {"format": "pdf", "content": make_page_bomb().decode()}),
        single("file", {"format": "pdf", "content": make_page_bomb(200, distinct=True).decode()}),
    ]


def probes(url: str) -> dict[str, dict[str, Any]]:
    """Tenant B's small workflows, by name."""
    return {
        "echo": ECHO,
        "http": single("http", {"method": "GET", "url": f"{url}/ping"}),
        "javascript": single(
            "code", {"language": "javascript", "code": "return input.n * 2", "input": {"n": 21}}
        ),
        "python": single(
            "code", {"language": "python", "code": "return input['n'] * 2", "input": {"n": 21}}
        ),
    }


def _pong(_request: Request) -> Response:
    return Response(200, {"pong": True})


async def _median_latency(run: Callable[[], Awaitable[dict[str, Any]]]) -> float:
    durations = []
    for _ in range(PROBE_RUNS):
        began = time.monotonic()
        detail = await run()
        durations.append(time.monotonic() - began)
        assert detail["status"] == "completed", detail
    return statistics.median(durations)


async def test_a_tenants_hostile_load_leaves_another_tenants_runs_their_speed(
    client: httpx.AsyncClient, mallory: User, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWMAESTRO_EGRESS_ALLOW", "127.0.0.1")
    monkeypatch.setenv("FLOWMAESTRO_DOCUMENT_TIMEOUT_S", str(HOSTILE_SECONDS))
    async with FakeHttpServer(_pong) as server:
        workflows = {
            name: await create_workflow(client, alice, definition)
            for name, definition in probes(server.url).items()
        }

        async def probe(name: str) -> dict[str, Any]:
            return await wait_end(client, alice, await start_run(client, alice, workflows[name]))

        for name in workflows:  # warm every path once: idle means warm, not cold
            await probe(name)
        idle = {name: await _median_latency(lambda n=name: probe(n)) for name in workflows}

        attacks = [
            asyncio.ensure_future(run_to_end(client, mallory, w, timeout=90))
            for w in hostile_workflows()
        ]
        await asyncio.sleep(1.0)  # the hostile nodes are running
        loaded = {name: await _median_latency(lambda n=name: probe(n)) for name in workflows}
        still_running = sum(not attack.done() for attack in attacks)
        outcomes = await asyncio.gather(*attacks)

    assert still_running >= 4, "the hostile load ended before the probes were measured"
    for name in workflows:
        assert loaded[name] <= 2 * idle[name] + FLOOR_S, (name, idle, loaded)
    assert all(outcome["status"] == "failed" for outcome in outcomes), [
        (outcome["status"], outcome.get("error")) for outcome in outcomes
    ]
