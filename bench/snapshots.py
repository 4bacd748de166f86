"""Cold recovery of a long execution: a scheduler that does not hold it folds it from its
latest snapshot and the log after it.

The execution: a loop over 50,000 items, still running, whose log holds 100,000 events
(each child's link and end, as the core writes them), in JetStream on a fresh embedded
nats-server (file storage). Its snapshot is the fold up to `SNAPSHOT_EVERY - 1` events
before the end (the longest tail a snapshot every N events leaves). Measured, median and
worst of 5, each with a fresh scheduler on a fresh connection: the cold load
(`Scheduler._load`: snapshot read and decoded, tail read, folded); for reference, once,
the whole log read and folded without a snapshot; and the first `decide` on the state.
Target: cold load under 1 s.

Prints a table and writes bench/snapshots.json. Run from the repository root:
`.venv/bin/python -m bench.snapshots`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowmaestro.events import CATALOGUE, decide, fold
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, Settings, connect, ensure_topology
from flowmaestro.runtime.eventlog import JetStreamEventLog
from flowmaestro.runtime.snapshots import decode_snapshot, encode_snapshot
from flowmaestro.scheduler import Scheduler
from tests.support.long_loop import long_loop_events, loop_started

HERE = Path(__file__).resolve().parent
ITEMS = 50_000
EVENTS = 100_000
SNAPSHOT_EVERY = Settings().snapshot_every
RUNS = 5
TARGET_S = 1.0


async def write_log(url: str, execution_id: str) -> int:
    """Append the long execution's log, pipelined; returns its last sequence."""
    nc = await connect(url, name="bench-writer")
    events_log = ExecutionLog(nc)
    outcomes_log = ExecutionLog(nc, outcomes=True)
    started = loop_started(execution_id, ITEMS)
    await events_log.start(started)
    pending: list[asyncio.Future[Any]] = []
    for kind, event in long_loop_events(started, EVENTS):
        if kind == "x":
            pending.append(await outcomes_log.append_async(execution_id, event))
        else:
            pending.append(await events_log.append_async(execution_id, event, record=kind == "r"))
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending.clear()
    acks = await asyncio.gather(*pending)
    await nc.close()
    return acks[-1].seq


async def timed(runs: int, measure: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """Seconds of each of `runs` runs of `measure`, and its last result."""
    seconds: list[float] = []
    result: Any = None
    for _ in range(runs):
        began = time.perf_counter()
        result = await measure()
        seconds.append(time.perf_counter() - began)
    return seconds, result


async def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fm-bench-snapshots-") as home:
        server = EmbeddedNats(Path(home) / "nats").start()
        try:
            return await measure(server.url)
        finally:
            server.stop()


async def measure(url: str) -> dict[str, Any]:
    nc = await connect(url, name="bench-snapshots")
    await ensure_topology(nc.jetstream(), CATALOGUE)
    execution_id = "01bench0snapshots0long0loop"
    began = time.perf_counter()
    await write_log(url, execution_id)
    write_s = time.perf_counter() - began
    records = await ExecutionLog(nc).read(execution_id)
    assert len(records) == EVENTS, len(records)
    full = fold(records)

    snapshot_at = len(records) - (SNAPSHOT_EVERY - 1)
    snapshot_state = fold(records[:snapshot_at])
    began = time.perf_counter()
    snapshot = encode_snapshot(snapshot_state)
    encode_s = time.perf_counter() - began
    began = time.perf_counter()
    await JetStreamEventLog(nc).snapshots.put(execution_id, snapshot)
    put_s = time.perf_counter() - began

    async def cold(every: int) -> tuple[float, Any]:
        """A fresh scheduler on a fresh connection loads it: seconds of the load alone."""
        fresh = await connect(url, name="bench-cold-scheduler")
        try:
            scheduler = Scheduler(JetStreamEventLog(fresh), settings=Settings(snapshot_every=every))
            began = time.perf_counter()
            state = await scheduler._load(execution_id, 0)
            return time.perf_counter() - began, state
        finally:
            await fresh.close()

    loads = [await cold(SNAPSHOT_EVERY) for _ in range(RUNS)]
    cold_s = [seconds for seconds, _ in loads]
    assert all(state == full for _, state in loads), "snapshot + tail equals the full fold"
    whole_s, whole = await cold(0)  # ~9 s: once
    assert whole == full
    recovered = loads[-1][1]
    decide_s, _ = await timed(RUNS, lambda: _decide(recovered))
    parts = await _parts(url, execution_id, snapshot_state.last_seq)
    await nc.close()
    figures = {
        "events": len(records),
        "loop_items": ITEMS,
        "snapshot_every": SNAPSHOT_EVERY,
        "tail_events": len(records) - snapshot_at,
        "snapshot_bytes": len(snapshot),
        "snapshot_encode_ms": round(encode_s * 1000, 1),
        "snapshot_put_ms": round(put_s * 1000, 1),
        "cold_load_p50_ms": _ms(statistics.median(cold_s)),
        "cold_load_max_ms": _ms(max(cold_s)),
        "whole_log_load_ms": _ms(whole_s),
        "first_decide_p50_ms": _ms(statistics.median(decide_s)),
        **parts,
        "log_write_s": round(write_s, 2),
        "target_ms": TARGET_S * 1000,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return figures


async def _parts(url: str, execution_id: str, after_seq: int) -> dict[str, float]:
    """One cold load taken apart: snapshot read, decoded, tail read, tail folded (ms)."""
    fresh = await connect(url, name="bench-parts")
    log = JetStreamEventLog(fresh)
    began = time.perf_counter()
    data = await log.snapshots.get(execution_id)
    got = time.perf_counter()
    assert data is not None
    state = decode_snapshot(data, execution_id)
    decoded = time.perf_counter()
    tail = await log.read(execution_id, after_seq)
    read = time.perf_counter()
    fold(tail, state)
    folded = time.perf_counter()
    await fresh.close()
    return {
        "part_snapshot_get_ms": _ms(got - began),
        "part_snapshot_decode_ms": _ms(decoded - got),
        "part_tail_read_ms": _ms(read - decoded),
        "part_tail_fold_ms": _ms(folded - read),
    }


async def _decide(state: Any) -> Any:
    return decide(state, datetime.now(UTC), set())


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def report(figures: dict[str, Any]) -> None:
    rows = [
        ("log", f"{figures['events']:,} events (a loop over {figures['loop_items']:,} items)"),
        ("snapshot", f"every {figures['snapshot_every']:,} events, tail {figures['tail_events']}"),
        (
            "snapshot size / encode / put",
            f"{figures['snapshot_bytes'] / 1e6:.2f} MB / {figures['snapshot_encode_ms']} ms"
            f" / {figures['snapshot_put_ms']} ms",
        ),
        (
            "cold load p50 / max (target < 1 s)",
            f"{figures['cold_load_p50_ms']} / {figures['cold_load_max_ms']} ms",
        ),
        ("whole log read and folded, no snapshot", f"{figures['whole_log_load_ms']} ms"),
        (
            "parts: snapshot get / decode / tail read / fold",
            f"{figures['part_snapshot_get_ms']} / {figures['part_snapshot_decode_ms']} / "
            f"{figures['part_tail_read_ms']} / {figures['part_tail_fold_ms']} ms",
        ),
        ("first decide on the state p50", f"{figures['first_decide_p50_ms']} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    result = asyncio.run(main())
    report(result)
    (HERE / "snapshots.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if result["cold_load_max_ms"] < TARGET_S * 1000 else 1)
