"""Chaos: mixed workflows on a three-server cluster while a driver kills a random
scheduler, executor or NATS server every few seconds (kill -9) and starts it again.

200 executions (branches, durable waits, retries, loops, human input answered by the
test, 2 MB outputs passed by reference) are started; the driver kills for
`CHAOS_SECONDS`, then everything runs and the test waits for every execution. At the end:
each reached its expected terminal state with the expected outputs; exactly one
completion per node and attempt; no command left unacknowledged; the read model (the
gateway's projector, writing to PostgreSQL through the kills) equals a fold of each log.
It prints a summary: kills by kind, executions, events, duplicates and lost (both 0).

Bounded: `FLOWMAESTRO_CHAOS_EXECUTIONS` (default 200) and `FLOWMAESTRO_CHAOS_SECONDS`
(default 20); `FLOWMAESTRO_CHAOS_SEED` repeats a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, ExecutionStatus, NodeCompleted, NodeStatus, fold
from flowmaestro.events.chain import verify_chain
from flowmaestro.events.names import (
    CMD_STREAM,
    EXEC_STREAM,
    SCHEDULER_PARTITIONS,
    executor_consumer,
    scheduler_partition,
)
from flowmaestro.gateway.commands import migrate_database
from flowmaestro.gateway.db import Database
from flowmaestro.gateway.projector import Projector, ensure_projector_consumer
from flowmaestro.runtime import ExecutionLog, connect, ensure_topology
from flowmaestro.runtime.answers import submit_answer
from flowmaestro.runtime.topology import wait_for_jetstream
from tests.support.cluster import ClusterStack
from tests.support.engine import load_example, start
from tests.support.postgres import fresh_database
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration

EXECUTIONS = int(os.environ.get("FLOWMAESTRO_CHAOS_EXECUTIONS", "200"))
CHAOS_SECONDS = float(os.environ.get("FLOWMAESTRO_CHAOS_SECONDS", "20"))
SCHEDULER_REPLICAS = int(os.environ.get("FLOWMAESTRO_CHAOS_SCHEDULERS", "2"))
"""The schedulers share the partitions, and every kill of one moves some."""
EXECUTOR_REPLICAS = 2
BIG = 2_000_000

LARGE = {
    "nodes": {
        "big": {
            "id": "big",
            "type": "code",
            "position": {"x": 0, "y": 0},
            "data": {"language": "javascript", "code": f"return 'x'.repeat({BIG})"},
        },
        "size": {
            "id": "size",
            "type": "transform",
            "position": {"x": 200, "y": 0},
            "data": {"expression": "$length($)", "input": "${big.output}"},
        },
        "out": {
            "id": "out",
            "type": "output",
            "position": {"x": 400, "y": 0},
            "data": {"output": "${size.output}"},
        },
    },
    "edges": [
        {"id": "e1", "source": "big", "target": "size"},
        {"id": "e2", "source": "size", "target": "out"},
    ],
}


def plan(rng: random.Random) -> list[tuple[str, Any, dict[str, Any], dict[str, Any] | None]]:
    """(kind, definition, inputs, expected outputs) of each execution; None: any output."""
    kinds = ["branch"] * 7 + ["wait"] * 3 + ["retry"] * 3 + ["loop"] * 3 + ["approval"] * 3
    runs = []
    for i in range(EXECUTIONS):
        kind = "large" if i % 20 == 0 else rng.choice(kinds)
        if kind == "branch":
            amount = rng.choice([20, 150])
            size = "large" if amount > 100 else "small"
            runs.append(
                (
                    kind,
                    load_example("branch"),
                    {"amount": amount},
                    {"result": f"{size} order of {amount}"},
                )
            )
        elif kind == "wait":
            runs.append((kind, load_example("wait"), {"seconds": 1}, None))
        elif kind == "retry":
            runs.append(
                (kind, load_example("retry"), {}, {"result": "worked on the third attempt"})
            )
        elif kind == "loop":
            numbers = [rng.randint(1, 9) for _ in range(4)]
            runs.append(
                (
                    kind,
                    load_example("loop"),
                    {"numbers": numbers},
                    {"result": [n * n for n in numbers]},
                )
            )
        elif kind == "approval":
            amount = rng.randint(1, 99)
            runs.append(
                (
                    kind,
                    load_example("approval"),
                    {"amount": amount},
                    {"refund": f"refunded {amount}"},
                )
            )
        else:
            runs.append((kind, LARGE, {}, {"out": BIG}))
    return runs


def engine_process(role: str, url: str, password: str, logs: Path, index: int) -> ServiceProcess:
    """A scheduler or executors process under its own NATS identity; kill -9 and start."""
    env = {
        "FLOWMAESTRO_NATS_USER": role,
        "FLOWMAESTRO_NATS_PASSWORD": password,
        "FLOWMAESTRO_EGRESS_ALLOW": "",
        # Each kill of the executor holding a command, or of the server holding its
        # acknowledgement, delivers it again: here that is the point, not a crash loop,
        # so the poison bound (5 by default) is set well above the kills one run makes.
        "FLOWMAESTRO_MAX_DELIVERIES": "30",
        "FLOWMAESTRO_LOG_LEVEL": os.environ.get("FLOWMAESTRO_CHAOS_LOG_LEVEL", "INFO"),
    }
    command = [sys.executable, "-m", f"flowmaestro.{role}", "--nats", url]
    return ServiceProcess(role, command, logs, env, name=f"{role}-{index}")


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClusterStack]:
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "3")
    monkeypatch.setenv("FLOWMAESTRO_ACK_WAIT_S", "2")
    stack = ClusterStack.start(tmp_path / "cluster")
    yield stack
    stack.stop()


async def _answer_approvals(nc: Client, waiting: set[str], done: asyncio.Event) -> None:
    """The person of the approval runs: approve each once its question is asked."""
    log = ExecutionLog(nc)
    while waiting and not done.is_set():
        for execution_id in list(waiting):
            with contextlib.suppress(Exception):
                state = fold(await log.read(execution_id))
                node = state.nodes.get("approve")
                if node is not None and node.status is NodeStatus.WAITING:
                    await submit_answer(log, execution_id, "approve", {"approved": True})
                    waiting.discard(execution_id)
                elif state.status.terminal:
                    waiting.discard(execution_id)
        await asyncio.sleep(0.3)


async def _projector(url: str, password: str, database_url: str, stop: asyncio.Event) -> None:
    """The gateway's projector, under the gateway's identity, writing the read model."""
    nc = await connect(url, name="chaos-projector", credentials=("gateway", password))
    db = Database(database_url, 10.0)
    await db.open()
    try:
        await ensure_projector_consumer(nc)  # the gateway identity's own projector name
        await Projector(nc, db).run(stop)
    finally:
        await db.close()
        await nc.close()


async def _everything_ended(nc: Client, ids: list[str], timeout: float) -> dict[str, Any]:
    log = ExecutionLog(nc)
    deadline = time.monotonic() + timeout
    records: dict[str, Any] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        still = []
        for execution_id in pending:
            try:
                got = await log.read(execution_id)
            except Exception:
                still.append(execution_id)
                continue
            if fold(got).status.terminal:
                records[execution_id] = got
            else:
                still.append(execution_id)
        pending = still
        if pending:
            await asyncio.sleep(1)
    for execution_id in pending:
        records[execution_id] = await log.read(execution_id)
    return records


async def test_chaos_every_execution_ends_once_with_its_outputs(
    cluster: ClusterStack, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FLOWMAESTRO_CHAOS_SEED", time.time()))
    rng = random.Random(seed)
    print(f"\nchaos seed {seed}; logs in {tmp_path}")
    nc = await cluster.operator("chaos")
    await wait_for_jetstream(nc)
    await ensure_topology(nc.jetstream(), CATALOGUE)
    passwords = cluster.passwords
    services = [
        engine_process("scheduler", cluster.url, passwords["scheduler"], tmp_path, i)
        for i in range(SCHEDULER_REPLICAS)
    ] + [
        engine_process("executors", cluster.url, passwords["executors"], tmp_path, i)
        for i in range(EXECUTOR_REPLICAS)
    ]
    stop = asyncio.Event()
    kills: Counter[str] = Counter()
    async with fresh_database() as database_url:
        await migrate_database(database_url)
        projector = asyncio.ensure_future(
            _projector(cluster.url, passwords["gateway"], database_url, stop)
        )
        try:
            runs = plan(rng)
            ids = [await start(nc, definition, inputs) for _, definition, inputs, _ in runs]
            approvals = {i for i, run in zip(ids, runs, strict=True) if run[0] == "approval"}
            answering = asyncio.ensure_future(_answer_approvals(nc, approvals, stop))

            deadline = time.monotonic() + CHAOS_SECONDS
            while time.monotonic() < deadline:
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                kind = rng.choice(["scheduler", "executors", "nats"])
                kills[kind] += 1
                if kind == "nats":
                    server = rng.choice(cluster.cluster.servers)
                    server.kill()
                    await asyncio.sleep(rng.uniform(0.5, 2.0))
                    server.start()
                else:
                    victim = rng.choice([s for s in services if s.role == kind])
                    victim.kill()
                    await asyncio.sleep(rng.uniform(0.1, 1.0))
                    victim.start()
            for service in services:  # what died on its own comes back too
                service.ensure_running()

            ended = await _everything_ended(nc, ids, timeout=240)
            answering.cancel()  # the projector runs on until the read model is compared

            lost = duplicates = events = 0
            twice: list[Any] = []  # what completed twice, for the hunt
            failures = []
            for execution_id, (kind, _, _, expected) in zip(ids, runs, strict=True):
                records = ended[execution_id]
                events += len(records)
                state = fold(records)
                if not state.status.terminal:
                    lost += 1
                    failures.append((kind, execution_id, "did not end"))
                    continue
                if state.status is not ExecutionStatus.COMPLETED:
                    failures.append((kind, execution_id, state.error))
                elif expected is not None and state.outputs != expected:
                    failures.append((kind, execution_id, state.outputs))
                completions = Counter(
                    (e.node_id, e.attempt) for _, e in records if isinstance(e, NodeCompleted)
                )
                duplicates += sum(count - 1 for count in completions.values())
                if any(count > 1 for count in completions.values()) and len(twice) < 5:
                    twice.append(
                        (
                            execution_id,
                            [
                                (seq, e.node_id, e.attempt, e.output_ref, e.completed_at)
                                for seq, e in records
                                if isinstance(e, NodeCompleted)
                                and completions[(e.node_id, e.attempt)] > 1
                            ],
                        )
                    )

            for duplicate in twice:
                print("completed twice", duplicate)
            if lost:
                await _diagnose(nc, [f[1] for f in failures if f[2] == "did not end"], ended)
            await asyncio.sleep(2 * float(os.environ["FLOWMAESTRO_ACK_WAIT_S"]))
            unacked = 0
            js = nc.jetstream()
            for node_type in CATALOGUE:
                with contextlib.suppress(Exception):
                    info = await js.consumer_info(CMD_STREAM, executor_consumer(node_type))
                    unacked += (info.num_ack_pending or 0) + (info.num_pending or 0)

            projected_wrong = await _read_model_differences(database_url, ended)
            log = ExecutionLog(nc)
            broken_chains = []
            for execution_id in ids:
                entries = await log.read_log(execution_id, through=await log.last_seq(execution_id))
                chain = verify_chain(execution_id, entries)
                if not chain.ok:
                    broken_chains.append(chain)
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(projector, 15)  # its own failure is raised
            for service in services:
                service.stop()
            await nc.close()

    print(
        "chaos summary: "
        + json.dumps(
            {
                "seed": seed,
                "kills": dict(kills),
                "executions": len(ids),
                "events": events,
                "duplicates": duplicates,
                "lost": lost,
                "unacknowledged commands": unacked,
                "read model differences": len(projected_wrong),
                "broken hash chains": len(broken_chains),
            }
        )
    )
    assert sum(kills.values()) >= 3, kills
    assert failures == [], (seed, failures[:5])
    assert (duplicates, lost, unacked) == (0, 0, 0), seed
    assert projected_wrong == [], (seed, projected_wrong[:5])
    assert broken_chains == [], (seed, broken_chains[:3])  # stamps survive every kill


async def _diagnose(nc: Client, unfinished: list[str], ended: dict[str, Any]) -> None:
    """Print what an unfinished execution's log ends with, and each scheduler partition's
    consumer state (what a hunt for a lost message starts from)."""
    for execution_id in unfinished[:5]:
        tail = [
            (seq, type(e).__name__, getattr(e, "node_id", None), getattr(e, "attempt", None))
            for seq, e in ended[execution_id][-6:]
        ]
        print("unfinished", execution_id, tail)
    for partition in range(SCHEDULER_PARTITIONS):
        subject = f"$JS.API.CONSUMER.INFO.{EXEC_STREAM}.{scheduler_partition(partition)}"
        with contextlib.suppress(Exception):
            info = json.loads((await nc.request(subject, b"", timeout=2.0)).data)
            print(
                "partition",
                partition,
                {
                    key: info.get(key)
                    for key in ("num_pending", "num_ack_pending", "num_waiting", "delivered")
                },
                info.get("ack_floor"),
                info.get("priority_groups"),
            )


async def _read_model_differences(database_url: str, ended: dict[str, Any]) -> list[Any]:
    """Executions whose projected status or outputs differ from a fold of their log,
    once the projector has caught up (it is given a while)."""
    db = Database(database_url, 10.0)
    await db.open()
    try:
        deadline = time.monotonic() + 60
        while True:
            wrong = []
            for execution_id, records in ended.items():
                state = fold(records)
                row = await db.fetchrow(
                    "SELECT status, outputs, last_seq FROM executions WHERE id = $1", execution_id
                )
                outputs = None if row is None else row["outputs"]
                if isinstance(outputs, str):
                    outputs = json.loads(outputs)
                if (
                    row is None
                    or row["status"] != state.status.value
                    or ((outputs or {}) != (state.outputs or {}))
                ):
                    projected = None if row is None else (row["status"], row["last_seq"])
                    wrong.append((execution_id, projected, records[-1][0]))
            if not wrong or time.monotonic() > deadline:
                return wrong
            await asyncio.sleep(1)
    finally:
        await db.close()
