"""Rate limits shared through JetStream: limited commands wait instead of failing."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus, NodeCompleted
from flowmaestro.runtime.ratelimit import RateLimit, RateLimiter, limits_from_env
from flowmaestro.runtime.secrets import IntegrationDirectory, IntegrationRecord
from tests.support.engine import start, wait_for_end

pytestmark = pytest.mark.integration


async def test_an_integration_limit_serialises_calls_and_nothing_fails(engine: Client) -> None:
    await IntegrationDirectory(engine.jetstream()).put(
        IntegrationRecord(
            id="limited-api",
            owner_id="someone",
            name="limited",
            type="http",
            config={"rate_limit": {"requests": 20, "per_seconds": 1, "concurrency": 1}},
        )
    )
    doc = {
        "nodes": {
            "call": {
                "id": "call",
                "type": "echo",
                "data": {"value": "ok", "delay_seconds": 0.3, "integration_id": "limited-api"},
            }
        },
        "edges": [],
    }
    ids = [await start(engine, doc) for _ in range(5)]
    spans = []
    for execution_id in ids:
        state, records = await wait_for_end(engine, execution_id, timeout=60)
        assert state.status is ExecutionStatus.COMPLETED, state.error
        done = next(e for _, e in records if isinstance(e, NodeCompleted))
        assert done.duration_ms is not None
        spans.append(
            (done.completed_at - timedelta(milliseconds=done.duration_ms), done.completed_at)
        )
    spans.sort()
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin >= end - timedelta(milliseconds=50), "two calls overlapped"


async def test_request_windows_and_leases(engine: Client) -> None:
    limiter = RateLimiter(engine.jetstream())
    limit = RateLimit(requests=3, per_seconds=30)
    admitted = [await limiter.admit("test.window", limit, 10) for _ in range(4)]
    assert [delay == 0 for _, delay in admitted] == [True, True, True, False]
    cap = RateLimit(concurrency=2)
    first, _ = await limiter.admit("test.conc", cap, 10)
    second, _ = await limiter.admit("test.conc", cap, 10)
    third, delay = await limiter.admit("test.conc", cap, 10)
    assert first and second and third is None and delay > 0
    await limiter.release(first)
    again, delay = await limiter.admit("test.conc", cap, 10)
    assert again is not None and delay == 0
    short, _ = await limiter.admit("test.expiring", RateLimit(concurrency=1), 0.2)
    assert short is not None
    await asyncio.sleep(0.3)
    after, _ = await limiter.admit("test.expiring", RateLimit(concurrency=1), 0.2)
    assert after is not None, "an expired lease frees its slot"
    assert await limiter.deferrals("x:y:1", add=1) == 1
    assert await limiter.deferrals("x:y:1", add=1) == 2
    assert await limiter.deferrals("x:y:1") == 2


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWMAESTRO_RATE_LIMITS", "llm=60/60:4, http=10/1,code=:2")
    assert limits_from_env() == {
        "llm": RateLimit(requests=60, per_seconds=60, concurrency=4),
        "http": RateLimit(requests=10, per_seconds=1),
        "code": RateLimit(concurrency=2),
    }
