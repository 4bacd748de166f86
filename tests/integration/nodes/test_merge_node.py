"""`merge` joins branches: `all` combines every output, `any` runs on the first arrival."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from tests.support.engine import load_example, run

pytestmark = pytest.mark.integration


def _fan_in(merge: dict[str, Any], slow_seconds: float = 0.0) -> dict[str, Any]:
    return {
        "nodes": {
            "fast": {"id": "fast", "type": "echo", "data": {"value": {"a": {"x": 1}, "f": 1}}},
            "slow": {
                "id": "slow",
                "type": "echo",
                "data": {"value": {"a": {"y": 2}, "s": 2}, "delay_seconds": slow_seconds},
            },
            "merge": {"id": "merge", "type": "merge", "data": merge},
            "result": {"id": "result", "type": "output", "data": {"output": "${merge.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "fast", "target": "merge"},
            {"id": "e2", "source": "slow", "target": "merge"},
            {"id": "e3", "source": "merge", "target": "result"},
        ],
    }


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("object", {"fast": {"a": {"x": 1}, "f": 1}, "slow": {"a": {"y": 2}, "s": 2}}),
        ("array", [{"a": {"x": 1}, "f": 1}, {"a": {"y": 2}, "s": 2}]),
        ("deep", {"a": {"x": 1, "y": 2}, "f": 1, "s": 2}),
    ],
)
async def test_all_combines_every_input(engine: Client, strategy: str, expected: Any) -> None:
    state, _ = await run(engine, _fan_in({"strategy": strategy}, slow_seconds=0.2))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == expected


async def test_any_runs_on_the_first_input_and_the_execution_still_finishes(
    engine: Client,
) -> None:
    state, _ = await run(engine, _fan_in({"mode": "any", "strategy": "array"}, slow_seconds=1.0))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == [{"a": {"x": 1}, "f": 1}]
    merged_at = state.nodes["merge"].ended_at
    slow_done = state.nodes["slow"].ended_at
    assert merged_at is not None and slow_done is not None and merged_at < slow_done


async def test_the_code_merge_example(engine: Client) -> None:
    state, _ = await run(engine, load_example("code-merge"), {"numbers": [3, 1, 4, 1, 5]})
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == {"max": 5, "min": 1, "mean": 2.8, "median": 3}
