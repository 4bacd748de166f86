"""Durability: kill -9 the scheduler, the executors and the nats-server at random points
during 20 concurrent executions; every execution still completes with the right outputs,
and the log holds exactly one `node.completed` per node and attempt."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowmaestro.events import CATALOGUE, ExecutionStatus, NodeCompleted
from flowmaestro.events.chain import verify_chain
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, connect, ensure_topology
from tests.support.engine import start, wait_for_end
from tests.support.processes import cli_service

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXECUTIONS = 20
WORKFLOW = {
    "nodes": {
        "in": {"id": "in", "type": "input", "data": {"schema": {"n": {"type": "integer"}}}},
        "a": {"id": "a", "type": "echo", "data": {"value": "${inputs.n}", "delay_seconds": 0.05}},
        "b": {
            "id": "b",
            "type": "echo",
            "data": {
                "value": "b",
                "delay_seconds": 0.1,
                "fail_first_attempts": 1,
                "retry": {"initial_interval_seconds": 0.2},
            },
        },
        "c": {"id": "c", "type": "wait", "data": {"seconds": 0.5}},
        "sum": {
            "id": "sum",
            "type": "transform",
            "data": {
                "expression": "{'n': a * 2, 'b': b}",
                "input": {"a": "${a.output}", "b": "${b.output}"},
            },
        },
        "check": {"id": "check", "type": "conditional", "data": {"expression": "n > 10"}},
        "big": {"id": "big", "type": "output", "data": {"output": "big ${sum.output.n}"}},
        "small": {"id": "small", "type": "output", "data": {"output": "small ${sum.output.n}"}},
    },
    "edges": [
        {"id": "1", "source": "in", "target": "a"},
        {"id": "2", "source": "in", "target": "b"},
        {"id": "3", "source": "in", "target": "c"},
        {"id": "4", "source": "a", "target": "sum"},
        {"id": "5", "source": "b", "target": "sum"},
        {"id": "6", "source": "c", "target": "sum"},
        {"id": "7", "source": "sum", "target": "check"},
        {"id": "8", "source": "check", "target": "big", "sourceHandle": "true"},
        {"id": "9", "source": "check", "target": "small", "sourceHandle": "false"},
    ],
}


@pytest.fixture
def crash_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    yield server
    server.stop()


async def test_kill_everything_at_random_and_every_execution_finishes(
    crash_nats: EmbeddedNats, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FLOWMAESTRO_CRASH_SEED", time.time()))
    rng = random.Random(seed)
    print(f"crash test seed {seed}; logs in {tmp_path}")
    nc = await connect(crash_nats.url, name="crash-test")
    await ensure_topology(nc.jetstream(), CATALOGUE)
    services = {
        role: cli_service(role, crash_nats.url, tmp_path, {"FLOWMAESTRO_ACK_WAIT_S": "1.5"})
        for role in ("scheduler", "executors")
    }
    try:
        inputs = [rng.randint(1, 10) for _ in range(EXECUTIONS)]
        ids = [await start(nc, WORKFLOW, {"n": n}) for n in inputs]
        kills: Counter[str] = Counter()
        deadline = time.monotonic() + 6
        first = rng.sample(["scheduler", "executors", "nats"], 3)  # each kind at least once
        while time.monotonic() < deadline or first:
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            victim = (
                first.pop()
                if first
                else rng.choice(["scheduler", "executors", "scheduler", "executors", "nats"])
            )
            kills[victim] += 1
            if victim == "nats":
                crash_nats.kill()
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                crash_nats.start()
            else:
                services[victim].kill()
                await asyncio.sleep(rng.uniform(0.0, 0.2))
                services[victim].start()
        print(f"kills: {dict(kills)}")
        assert kills["nats"] and kills["scheduler"] and kills["executors"]
        for service in services.values():
            service.ensure_running()
        for execution_id, n in zip(ids, inputs, strict=True):
            state, records = await wait_for_end(nc, execution_id, timeout=90)
            assert state.status is ExecutionStatus.COMPLETED, (seed, state.error)
            expected = {"big": f"big {n * 2}"} if n * 2 > 10 else {"small": f"small {n * 2}"}
            assert state.outputs == expected, seed
            completions = Counter(
                (e.node_id, e.attempt) for _, e in records if isinstance(e, NodeCompleted)
            )
            assert all(count == 1 for count in completions.values()), (seed, completions)
            assert state.nodes["b"].attempt == 2
            chain = verify_chain(execution_id, await ExecutionLog(nc).read_log(execution_id))
            assert chain.ok, (seed, chain)  # the stamps survive every kill
    finally:
        for service in services.values():
            service.stop()
        await nc.close()
