"""FlowMaestro benchmarks against a fresh embedded stack (file storage, default settings).

W1 chain: 10 sequential echo nodes between input and output, 50 executions in a row.
W2 fan-out: 1 node → 100 parallel echo nodes → 1 join, median wall time of 5 runs.
W3 throughput: 200 W1 executions started at once, median of 3.
Floor: the raw JetStream round trip (command to a work queue → pull → result → ack →
observed), p50, measured with the official client (nats-py) — the target's reference — and
again with FlowMaestro's lean hot-path connection; and a step without an engine: the same
round trip through two processes and two durable consumers, as each W1 step takes.

Hot-path A/B: `--client wire` runs the hot path of every process (scheduler, executors,
this driver) over FlowMaestro's lean connection, `--client nats-py` over nats-py, and the
default `--client both` measures each on its own fresh stack in the same run and prints
them side by side.

`--schedulers N` runs N scheduler processes sharing the executions (JetStream pins each
partition of the log to one of them); W3 then also reports the CPU time the schedulers
spent per step, which says more than a wall clock on a machine others share.

Prints a table and writes bench/results.json (bench/results-durable-sync.json with
--durable-sync, where JetStream syncs every write to disk; bench/results-cluster.json with
--cluster 3: a local cluster of three servers, every stream with three replicas).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import RetentionPolicy, StreamConfig

from flowmaestro.events import CATALOGUE, ExecutionStarted, parse_definition
from flowmaestro.events.names import event_wildcard, execution_of
from flowmaestro.runtime import (
    ContinuousPull,
    EmbeddedNats,
    ExecutionLog,
    connect,
    ensure_topology,
    new_execution_id,
)
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.embedded import NatsCluster, die_with_parent
from flowmaestro.runtime.hotpath import HOT_PATH_CLIENT_ENV
from flowmaestro.runtime.logs import configure_logging
from flowmaestro.runtime.publisher import JetStreamPublisher
from flowmaestro.runtime.topology import wait_for_jetstream
from flowmaestro.runtime.wire import WireMsg

HERE = Path(__file__).resolve().parent
TERMINAL = (
    b'"type":"execution.completed"',
    b'"type":"execution.failed"',
    b'"type":"execution.cancelled"',
)


def chain(length: int = 10) -> Any:
    """input → `length` echo nodes → output."""
    ids = ["in", *[f"e{i}" for i in range(length)], "out"]
    nodes = {n: {"id": n, "type": "echo", "data": {"value": n}} for n in ids[1:-1]}
    nodes["in"] = {"id": "in", "type": "input", "data": {}}
    nodes["out"] = {"id": "out", "type": "output", "data": {"output": f"${{{ids[-2]}.output}}"}}
    edges = [
        {"id": f"x{i}", "source": a, "target": b}
        for i, (a, b) in enumerate(itertools.pairwise(ids))
    ]
    return parse_definition({"nodes": nodes, "edges": edges})


def fan_out(width: int = 100) -> Any:
    """one echo → `width` parallel echo nodes → one join."""
    nodes = {
        "src": {"id": "src", "type": "echo", "data": {"value": 1}},
        "join": {"id": "join", "type": "echo", "data": {"value": "done"}},
    }
    edges = []
    for i in range(width):
        nodes[f"p{i}"] = {"id": f"p{i}", "type": "echo", "data": {"value": i}}
        edges += [
            {"id": f"a{i}", "source": "src", "target": f"p{i}"},
            {"id": f"b{i}", "source": f"p{i}", "target": "join"},
        ]
    return parse_definition({"nodes": nodes, "edges": edges})


class Watcher:
    """Sees terminal events of every execution over a plain subscription (on the lean
    connection, so that watching costs the machine little)."""

    def __init__(self) -> None:
        self.ended: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}

    def on_msg(self, msg: WireMsg) -> None:
        if any(tag in msg.data for tag in TERMINAL):
            now = time.perf_counter()
            execution_id = execution_of(msg.subject)
            self.ended[execution_id] = now
            waiter = self.waiters.pop(execution_id, None)
            if waiter and not waiter.done():
                waiter.set_result(now)

    def expect(self, execution_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[execution_id] = future
        return future


async def start(log: ExecutionLog, definition: Any) -> str:
    execution_id = new_execution_id()
    await log.start(
        ExecutionStarted(
            execution_id=execution_id, definition=definition, started_at=datetime.now(UTC)
        )
    )
    return execution_id


async def run_one(log: ExecutionLog, watcher: Watcher, definition: Any) -> float:
    execution_id = new_execution_id()
    done = watcher.expect(execution_id)
    begin = time.perf_counter()
    await log.start(
        ExecutionStarted(
            execution_id=execution_id, definition=definition, started_at=datetime.now(UTC)
        )
    )
    return (await asyncio.wait_for(done, 60)) - begin


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def floor_rtt(nc: Client, lean: bool, rounds: int = 500) -> float:
    """p50 of: publish a command to a work queue → pull it → publish a result → ack → see
    the result. With `lean=False` only the official client (nats-py) is used: the floor as
    any JetStream application sees it. With `lean=True`, FlowMaestro's own hot-path
    connection (`Wire`) does every part."""
    js = nc.jetstream()
    tag = "LEAN" if lean else "STD"
    cmd_stream, cmd, out = f"BENCH_{tag}_CMD", f"bench.{tag}.cmd", f"bench.{tag}.log"
    await js.add_stream(
        StreamConfig(name=cmd_stream, subjects=[cmd], retention=RetentionPolicy.WORK_QUEUE)
    )
    await js.add_stream(StreamConfig(name=f"BENCH_{tag}_LOG", subjects=[out]))
    await js.add_consumer(cmd_stream, durable_name="worker", ack_policy="explicit")
    seen: asyncio.Queue[float] = asyncio.Queue()
    payload = b"x" * 256
    if lean:
        publisher = JetStreamPublisher(nc)
        pull = await serve_commands(nc, cmd_stream, out)
        (await wire_of(nc)).subscribe(out, lambda _msg: seen.put_nowait(time.perf_counter()))

        async def send() -> None:
            await (await publisher.publish(cmd, payload))

        stop = pull.stop
    else:
        finished = asyncio.Event()
        subscription = await js.pull_subscribe(cmd, durable="worker", stream=cmd_stream)

        async def worker() -> None:
            while not finished.is_set():  # nats-py's fetch can swallow a cancellation
                try:
                    msgs = await subscription.fetch(1, timeout=5)
                except TimeoutError:
                    continue
                for msg in msgs:
                    await js.publish(out, msg.data)
                    await msg.ack()

        async def observe(_msg: Msg) -> None:
            seen.put_nowait(time.perf_counter())

        await nc.subscribe(out, cb=observe)
        running = asyncio.ensure_future(worker())

        async def send() -> None:
            await js.publish(cmd, payload)

        async def stop() -> None:
            finished.set()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    samples = []
    for _ in range(rounds):
        begin = time.perf_counter()
        await send()
        samples.append(await seen.get() - begin)
    await stop()
    return statistics.median(samples[rounds // 10 :]) * 1000


async def serve_commands(nc: Client, stream: str, out: str) -> ContinuousPull:
    """Pull commands from `stream` (consumer `worker`), append each to `out`, then ack."""
    publisher = JetStreamPublisher(nc)
    running: set[asyncio.Future[None]] = set()

    async def answer(msg: WireMsg) -> None:
        await (await publisher.publish(out, msg.data))
        await msg.ack()
        await pull.done()

    def on_command(msg: WireMsg) -> None:
        task = asyncio.ensure_future(answer(msg))
        running.add(task)
        task.add_done_callback(running.discard)

    pull = ContinuousPull(nc, stream, "worker", 100, on_message=on_command)
    await pull.start()
    return pull


async def hop_worker(url: str) -> None:
    """The far side of `hop_rtt`, in its own process."""
    await serve_commands(await connect(url, name="bench-hop"), "BENCH_HOP_CMD", "bench.hop.log")
    await asyncio.Event().wait()


async def hop_rtt(nc: Client, url: str, rounds: int = 500) -> float:
    """p50 of one engine step with no engine in it: publish a command to a work queue, a
    second process pulls it and appends a result to a log stream, and a durable consumer
    of that stream brings it back — the two processes and two consumers of a W1 step."""
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(
            name="BENCH_HOP_CMD", subjects=["bench.hop.cmd"], retention=RetentionPolicy.WORK_QUEUE
        )
    )
    await js.add_stream(StreamConfig(name="BENCH_HOP_LOG", subjects=["bench.hop.log"]))
    await js.add_consumer("BENCH_HOP_CMD", durable_name="worker", ack_policy="explicit")
    await js.add_consumer("BENCH_HOP_LOG", durable_name="back", ack_policy="all")
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, __file__, "--hop-worker", url], preexec_fn=die_with_parent
    )
    pull = ContinuousPull(nc, "BENCH_HOP_LOG", "back", 100)
    await pull.start()
    publisher = JetStreamPublisher(nc)
    samples = []
    try:
        for i in range(rounds + 1):
            begin = time.perf_counter()
            await (await publisher.publish("bench.hop.cmd", b"x" * 256))
            batch = await asyncio.wait_for(pull.next_batch(), 30 if i == 0 else 5)
            samples.append(time.perf_counter() - begin)
            await batch[-1].ack()
            await pull.done(len(batch))
    finally:
        worker.terminate()
        worker.wait(10)
        await pull.stop()
    return statistics.median(samples[1 + rounds // 10 :]) * 1000


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (Linux `/proc`)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def bench(
    durable_sync: bool, client: str, schedulers: int = 1, cluster: int | None = None
) -> dict[str, Any]:
    """One full measurement with the hot path of every process over `client`, with
    `schedulers` scheduler processes (on a local cluster of `cluster` servers, every
    stream replicated on each, when given)."""
    configure_logging("WARNING")
    os.environ[HOT_PATH_CLIENT_ENV] = client  # read by this process and the services
    if cluster:
        os.environ["FLOWMAESTRO_STREAM_REPLICAS"] = str(cluster)
    with tempfile.TemporaryDirectory(prefix="fm-bench-") as tmp:
        server: EmbeddedNats | NatsCluster
        if cluster:
            server = NatsCluster(Path(tmp) / "nats", cluster, sync_always=durable_sync).start()
        else:
            server = EmbeddedNats(Path(tmp) / "nats", sync_always=durable_sync).start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            nc = await connect(server.url, name="bench")
            await wait_for_jetstream(nc)
            await ensure_topology(nc.jetstream(), CATALOGUE)
            for role in ["scheduler"] * schedulers + ["executors"]:
                procs.append(
                    subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
                        [sys.executable, "-m", "flowmaestro.cli.main", "--nats", server.url, role],
                        env={**os.environ, "FLOWMAESTRO_LOG_LEVEL": "WARNING"},
                        preexec_fn=die_with_parent,
                    )
                )
            log = ExecutionLog(nc)
            watcher = Watcher()
            (await wire_of(nc)).subscribe(event_wildcard(), watcher.on_msg)
            w1_def, w2_def = chain(), fan_out()
            for _ in range(10):  # warm-up: processes started, consumers pulling
                await run_one(log, watcher, w1_def)
            if schedulers > 1:  # the schedulers share the partitions out (on deliveries)
                for _ in range(3):
                    await asyncio.sleep(0.6)
                    await asyncio.gather(*(run_one(log, watcher, w1_def) for _ in range(24)))

            floor = await floor_rtt(nc, lean=False)
            floor_lean = await floor_rtt(nc, lean=True)
            hop = await hop_rtt(nc, server.url)
            w1 = [await run_one(log, watcher, w1_def) for _ in range(50)]
            w2 = [await run_one(log, watcher, w2_def) for _ in range(5)]
            w3_exec, w3_steps, w3_cpu = [], [], []
            scheduler_pids = [proc.pid for proc in procs[:schedulers]]
            steps_per_execution = len(w1_def.nodes)
            for _ in range(3):
                ids = [new_execution_id() for _ in range(200)]
                futures = [watcher.expect(i) for i in ids]
                cpu_before = cpu_seconds(scheduler_pids)
                begin = time.perf_counter()
                await asyncio.gather(
                    *(
                        log.start(
                            ExecutionStarted(
                                execution_id=i, definition=w1_def, started_at=datetime.now(UTC)
                            )
                        )
                        for i in ids
                    )
                )
                await asyncio.wait_for(asyncio.gather(*futures), 120)
                elapsed = max(f.result() for f in futures) - begin
                cpu = cpu_seconds(scheduler_pids) - cpu_before
                w3_cpu.append(cpu * 1e6 / (200 * steps_per_execution))
                w3_exec.append(200 / elapsed)
                w3_steps.append(200 * steps_per_execution / elapsed)
            await nc.close()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            server.stop()
    w1_p50 = statistics.median(w1) * 1000
    return {
        "hot_path_client": client,
        "durable_sync": durable_sync,
        "nats_servers": cluster or 1,
        "floor_rtt_ms": round(floor, 3),
        "floor_rtt_lean_ms": round(floor_lean, 3),
        "hop_rtt_ms": round(hop, 3),
        "w1_p50_ms": round(w1_p50, 2),
        "w1_p95_ms": round(pct(w1, 0.95) * 1000, 2),
        "w1_per_step_ms": round(w1_p50 / 10, 3),
        "w2_p50_ms": round(statistics.median(w2) * 1000, 2),
        "w3_exec_per_s": round(statistics.median(w3_exec), 1),
        "w3_steps_per_s": round(statistics.median(w3_steps), 1),
        "schedulers": schedulers,
        "w3_scheduler_cpu_us_per_step": round(statistics.median(w3_cpu), 1),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(results: dict[str, Any]) -> str:
    floor, lean = results["floor_rtt_ms"], results["floor_rtt_lean_ms"]
    step = results["w1_per_step_ms"]
    rows = [
        ("floor JetStream round trip p50", f"{floor:.3f} ms", "official client (nats-py)"),
        ("  the same, hot-path code", f"{lean:.3f} ms", f"over {results['hot_path_client']}"),
        (
            "step without an engine p50",
            f"{results['hop_rtt_ms']:.3f} ms",
            "two processes, two consumers (hot-path code)",
        ),
        ("W1 chain p50 / p95", f"{results['w1_p50_ms']:.2f} / {results['w1_p95_ms']:.2f} ms", ""),
        (
            "W1 per-step overhead",
            f"{step:.3f} ms",
            f"{step / floor:.2f}x floor (target ≤ 1.5x); {step / lean:.2f}x the hot-path floor",
        ),
        ("W2 fan-out 1→100→1 p50", f"{results['w2_p50_ms']:.1f} ms", "target < 30 ms"),
        (
            "W3 throughput",
            f"{results['w3_exec_per_s']:.0f} exec/s, {results['w3_steps_per_s']:.0f} steps/s",
            "target > 4,000 steps/s",
        ),
        (
            "W3 scheduler CPU per step",
            f"{results['w3_scheduler_cpu_us_per_step']:.0f} µs",
            f"{results['schedulers']} scheduler process(es); "
            f"{1e6 / results['w3_scheduler_cpu_us_per_step']:,.0f} steps per scheduler CPU-s",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    title = "durable sync (every write synced)" if results["durable_sync"] else "default sync"
    head = f"FlowMaestro benchmarks — {title}, hot path over {results['hot_path_client']}"
    return "\n".join([head] + [f"  {a:<{width}}  {b:<28} {c}" for a, b, c in rows])


AB_ROWS = (
    ("floor round trip p50 (ms)", "floor_rtt_lean_ms"),
    ("step without an engine p50 (ms)", "hop_rtt_ms"),
    ("W1 p50 (ms)", "w1_p50_ms"),
    ("W1 p95 (ms)", "w1_p95_ms"),
    ("W2 fan-out p50 (ms)", "w2_p50_ms"),
    ("W3 executions/s", "w3_exec_per_s"),
    ("W3 steps/s", "w3_steps_per_s"),
)


def ab_table(wire: dict[str, Any], natspy: dict[str, Any]) -> str:
    """The hot path over each client, side by side (floor: the hot path's own code)."""
    rows = [("hot path over", "wire", "nats-py", "nats-py / wire")]
    for label, key in AB_ROWS:
        a, b = wire[key], natspy[key]
        rows.append((label, f"{a:,.2f}", f"{b:,.2f}", f"{b / a:.2f}x" if a else "—"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {r[0]:<{width}}  {r[1]:>10}  {r[2]:>10}  {r[3]:>14}" for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="FlowMaestro benchmarks")
    parser.add_argument(
        "--durable-sync", action="store_true", help="JetStream syncs every write to disk"
    )
    parser.add_argument(
        "--client",
        choices=("both", "wire", "nats-py"),
        default="both",
        help="the hot path's client (both: each on its own fresh stack, side by side)",
    )
    parser.add_argument(
        "--cluster",
        type=int,
        metavar="N",
        help="a local cluster of N servers (at least 3), every stream with N replicas",
    )
    parser.add_argument(
        "--schedulers",
        type=int,
        default=1,
        metavar="N",
        help="scheduler processes sharing the executions (default 1)",
    )
    parser.add_argument("--hop-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.hop_worker:
        asyncio.run(hop_worker(args.hop_worker))
        return 0
    clients = ("wire", "nats-py") if args.client == "both" else (args.client,)
    runs = {
        client: asyncio.run(bench(args.durable_sync, client, args.schedulers, args.cluster))
        for client in clients
    }
    for run in runs.values():
        print(table(run))
    if len(runs) == 2:
        print("Hot path A/B (same run)")
        print(ab_table(runs["wire"], runs["nats-py"]))
    results = {**runs.get("wire", runs[clients[0]]), "hot_path_ab": runs}
    name = "results-durable-sync.json" if args.durable_sync else "results.json"
    if args.cluster:
        name = name.replace("results", f"results-cluster{args.cluster}")
    if args.schedulers > 1:
        name = name.replace("results", f"results-schedulers{args.schedulers}")
    (HERE / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote bench/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
