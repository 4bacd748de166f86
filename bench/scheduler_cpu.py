"""The scheduler's own CPU per step, without a server: the production `Scheduler` on the
memory log, 1,000 ten-step echo chains started at once, the executors played in the same
process (as `tests/unit/test_scheduler_memory.py` does). Prints the CPU time per step
(scheduler and played executors together), which a loaded machine disturbs far less than
the wall-clock figures of `bench/run.py`. Compare two versions by running each a few
times in turn. Run from the repository root: `.venv/bin/python -m bench.scheduler_cpu`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time

import structlog

from flowmaestro.runtime import Settings
from flowmaestro.runtime.eventlog import MemoryEventLog
from flowmaestro.scheduler import Scheduler
from tests.unit.sim import definition, started
from tests.unit.test_scheduler_memory import answer

EXECUTIONS = 1000
STEPS = 10


async def measure() -> tuple[float, float]:
    """(CPU µs per step, wall seconds) of one run."""
    nodes = {f"n{i}": ("echo", {"value": i}) for i in range(STEPS)}
    chain = definition(nodes, [(f"n{i}", f"n{i + 1}") for i in range(STEPS - 1)])
    log = MemoryEventLog()
    stop = asyncio.Event()
    scheduler = Scheduler(log, settings=Settings(effect_attempts=3, snapshot_every=0))
    tasks = [
        asyncio.ensure_future(scheduler.run(stop)),
        asyncio.ensure_future(answer(log, ("echo",))),
    ]
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    wall = time.perf_counter()
    for i in range(EXECUTIONS):
        await log.start(started(chain, execution_id=f"x{i}"))
    while len(scheduler.finished) < EXECUTIONS:  # noqa: ASYNC110 - polling a plain value
        await asyncio.sleep(0.005)
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu
    wall = time.perf_counter() - wall
    stop.set()
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cpu * 1e6 / (EXECUTIONS * STEPS), wall


def main() -> None:
    """One run, printed."""
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    per_step, wall = asyncio.run(measure())
    print(f"scheduler on the memory log: {per_step:.1f} µs CPU per step, {wall:.2f} s")


if __name__ == "__main__":
    main()
