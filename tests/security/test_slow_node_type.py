"""A slow node type never delays another: each node type has its own consumer and a
bounded number of commands in flight, so `llm` nodes stuck on a provider that does not
answer leave `echo` workflows their idle latency."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.base import Recorded, Reply, Response
from tests.fakes.openai_server import FakeOpenAI
from tests.security.test_sandboxes import single
from tests.support.gateway import User, eventually
from tests.support.runs import ECHO, create_workflow, run_to_end, start_run

STUCK_RUNS = 40
PROBE_RUNS = 5


class StalledProvider(FakeOpenAI):
    """An OpenAI-compatible provider that holds every request until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """Answer only once released (or after a minute)."""
        self.release.wait(60)
        return super().route(request, reply)


@pytest.fixture
def stalled() -> Iterator[StalledProvider]:
    server = StalledProvider().start()
    yield server
    server.release.set()
    server.stop()


async def _median_echo(client: httpx.AsyncClient, user: User) -> float:
    durations = []
    for _ in range(PROBE_RUNS):
        began = time.monotonic()
        detail = await run_to_end(client, user, ECHO)
        durations.append(time.monotonic() - began)
        assert detail["status"] == "completed", detail
    return statistics.median(durations)


async def test_llm_nodes_stuck_on_a_provider_leave_echo_its_idle_latency(
    client: httpx.AsyncClient, alice: User, allow_loopback: None, stalled: StalledProvider
) -> None:
    idle = await _median_echo(client, alice)
    llm = single(
        "llm",
        {"provider": "openai_compatible", "base_url": stalled.base_url, "prompt": "hi"},
    )
    workflow = await create_workflow(client, alice, llm, "stuck")
    stuck = await asyncio.gather(*(start_run(client, alice, workflow) for _ in range(STUCK_RUNS)))

    async def provider_busy() -> bool:
        return len(stalled.requests) >= 4  # the llm pool is taken up, its queue behind it

    await eventually(provider_busy, 20)
    loaded = await _median_echo(client, alice)
    assert loaded <= 2 * idle + 0.3, f"echo took {loaded:.3f}s with llm stuck, {idle:.3f}s idle"
    for execution_id in stuck:
        await client.post(f"/api/executions/{execution_id}/cancel", headers=alice.headers)
    stalled.release.set()
