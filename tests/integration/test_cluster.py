"""A replicated NATS cluster: one of three servers is killed with SIGKILL while 50
executions are mid-run, and started again later. Every execution completes with the right
outputs, each log holds exactly one `node.completed` per node and attempt, and the
restarted server catches up with its peers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, ExecutionCompleted, ExecutionStatus, NodeCompleted, names
from flowmaestro.runtime import EmbeddedNats, ensure_topology
from flowmaestro.runtime.topology import wait_for_jetstream
from tests.support.cluster import ClusterStack, local_stream_state, move_leader, stream_leader
from tests.support.engine import running_engine, start, wait_for_end

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXECUTIONS = 50
WORKFLOW = {
    "nodes": {
        "in": {"id": "in", "type": "input", "data": {"schema": {"n": {"type": "integer"}}}},
        "a": {"id": "a", "type": "echo", "data": {"value": "${inputs.n}", "delay_seconds": 0.05}},
        "pause": {"id": "pause", "type": "wait", "data": {"seconds": 2}},
        "double": {
            "id": "double",
            "type": "transform",
            "data": {"expression": "n * 2", "input": {"n": "${a.output}"}},
        },
        "out": {"id": "out", "type": "output", "data": {"output": "${double.output}"}},
    },
    "edges": [
        {"id": "1", "source": "in", "target": "a"},
        {"id": "2", "source": "a", "target": "pause"},
        {"id": "3", "source": "pause", "target": "double"},
        {"id": "4", "source": "double", "target": "out"},
    ],
}

NODE_TYPES = sorted({node["type"] for node in WORKFLOW["nodes"].values()})


async def test_executions_survive_the_loss_of_one_server(nats_cluster: ClusterStack) -> None:
    nc = await nats_cluster.operator()
    try:
        await wait_for_jetstream(nc)
        await ensure_topology(nc.jetstream(), CATALOGUE)
        for stream in (names.EXEC_STREAM, names.CMD_STREAM):
            info = await nc.jetstream().stream_info(stream)
            assert info.config.num_replicas == 3, stream
        # the victim leads the log, the commands and their consumers, and the hot-path
        # connections (which try the servers in the order given) meet it first
        victim = nats_cluster.cluster.servers[0]
        assert victim.server_name is not None
        for stream, consumer in [
            (names.EXEC_STREAM, None),
            (names.CMD_STREAM, None),
            *[
                (names.EXEC_STREAM, names.scheduler_partition(p))
                for p in range(names.SCHEDULER_PARTITIONS)
            ],
            *[(names.CMD_STREAM, names.executor_consumer(t)) for t in NODE_TYPES],
        ]:
            await move_leader(nc, stream, victim.server_name, consumer)
        js = nc.jetstream()
        async with running_engine(nats_cluster.url, nats_cluster.passwords):
            ids = [await start(nc, WORKFLOW, {"n": n}) for n in range(EXECUTIONS)]
            await asyncio.sleep(0.5)  # every execution is on its way, most of them waiting
            before = (await js.stream_info(names.EXEC_STREAM)).state.last_seq
            victim.kill()
            killed_at = time.monotonic()
            await asyncio.sleep(3.0)
            new_leader = await stream_leader(nc, names.EXEC_STREAM)
            assert new_leader != victim.server_name
            print(f"{new_leader} leads {time.monotonic() - killed_at:.1f} s after the kill")
            await asyncio.sleep(1.0)  # the timers fire on the new leader
            missed = (await js.stream_info(names.EXEC_STREAM)).state.last_seq - before
            assert missed > 0, "the log should grow while the victim is down"
            victim.start()
            for n, execution_id in enumerate(ids):
                state, records = await wait_for_end(nc, execution_id, timeout=45)
                assert state.status is ExecutionStatus.COMPLETED, (execution_id, state.error)
                assert state.outputs == {"out": n * 2}
                completions = Counter(
                    (e.node_id, e.attempt) for _, e in records if isinstance(e, NodeCompleted)
                )
                assert set(completions) >= {(node, 1) for node in WORKFLOW["nodes"]}
                assert all(count == 1 for count in completions.values()), completions
                assert sum(isinstance(e, ExecutionCompleted) for _, e in records) == 1
            print(f"all {EXECUTIONS} completed {time.monotonic() - killed_at:.1f} s after the kill")
        await _converges(nats_cluster.cluster.servers[0], nc)
    finally:
        await nc.close()


async def _converges(restarted: EmbeddedNats, nc: Client, timeout: float = 20.0) -> None:
    """The restarted server's own copy of each stream (not the leader's answer) comes to
    hold what the leader holds: the same last sequence and message count."""
    deadline = time.monotonic() + timeout
    for stream in (names.EXEC_STREAM, names.CMD_STREAM):
        while True:
            leader = (await nc.jetstream().stream_info(stream)).state
            local = await local_stream_state(restarted, stream)
            if local and (local["last_seq"], local["messages"]) == (
                leader.last_seq,
                leader.messages,
            ):
                break
            assert time.monotonic() < deadline, (stream, local, leader)
            await asyncio.sleep(0.2)
