"""Rate limits shared through JetStream: limited commands wait instead of failing."""

from __future__ import annotations

import itertools
import uuid
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


class ManualClock:
    """A clock the test moves by hand, so windows and lease expiries are exact."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_request_window_admits_exactly_its_count_up_to_its_boundary(
    engine: Client,
) -> None:
    boundary = 30.0 * 1_000_000  # where one 30-second window ends and the next begins
    clock = ManualClock(boundary - 0.5)
    limiter = RateLimiter(engine.jetstream(), clock=clock)
    scope = f"test.window.{uuid.uuid4().hex}"
    limit = RateLimit(requests=3, per_seconds=30)
    admitted = [await limiter.admit(scope, limit, 10) for _ in range(3)]
    assert [delay for _, delay in admitted] == [0.0, 0.0, 0.0]
    clock.now = boundary - 0.1
    refused, delay = await limiter.admit(scope, limit, 10)
    assert refused is None and delay == pytest.approx(0.1)
    clock.now = boundary
    fresh = [await limiter.admit(scope, limit, 10) for _ in range(4)]
    assert [delay == 0 for _, delay in fresh] == [True, True, True, False]


async def test_a_concurrency_cap_frees_a_slot_on_release_and_on_lease_expiry(
    engine: Client,
) -> None:
    clock = ManualClock(1_000_000.0)
    limiter = RateLimiter(engine.jetstream(), clock=clock)
    scope = f"test.conc.{uuid.uuid4().hex}"
    cap = RateLimit(concurrency=2)
    first, _ = await limiter.admit(scope, cap, 10)
    second, _ = await limiter.admit(scope, cap, 10)
    third, delay = await limiter.admit(scope, cap, 10)
    assert first and second and third is None and delay > 0
    await limiter.release(first)
    again, delay = await limiter.admit(scope, cap, 10)
    assert again is not None and delay == 0
    clock.now = 1_000_009.999  # the first two leases (10 s) still run
    held, _ = await limiter.admit(scope, cap, 10)
    assert held is None, "leases still valid hold their slots"
    clock.now = 1_000_010.001
    after, _ = await limiter.admit(scope, cap, 10)
    assert after is not None, "an expired lease frees its slot"


async def test_deferrals_are_counted_per_command(engine: Client) -> None:
    limiter = RateLimiter(engine.jetstream())
    key = f"{uuid.uuid4().hex}:y:1"
    assert await limiter.deferrals(key, add=1) == 1
    assert await limiter.deferrals(key, add=1) == 2
    assert await limiter.deferrals(key) == 2


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWMAESTRO_RATE_LIMITS", "llm=60/60:4, http=10/1,code=:2")
    assert limits_from_env() == {
        "llm": RateLimit(requests=60, per_seconds=60, concurrency=4),
        "http": RateLimit(requests=10, per_seconds=1),
        "code": RateLimit(concurrency=2),
    }
