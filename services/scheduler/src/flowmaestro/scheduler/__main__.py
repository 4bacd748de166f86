"""`python -m flowmaestro.scheduler`: the scheduler process (what `flowmaestro up` runs)."""

from __future__ import annotations

import argparse
import sys


def _without_rich() -> None:
    """structlog loads `rich`, when installed, for tracebacks we never print that way
    (see flowmaestro.runtime.logs): about 15 MB in every process. Called before any
    FlowMaestro import."""
    sys.modules.setdefault("rich", None)  # pyright: ignore[reportArgumentType]


async def _run(nats_url: str) -> None:
    import structlog

    from flowmaestro.events.names import EXEC_STREAM, SCHEDULER_PARTITIONS, scheduler_partition
    from flowmaestro.runtime import connect
    from flowmaestro.runtime.eventlog import JetStreamEventLog
    from flowmaestro.runtime.metrics import SchedulerMetrics
    from flowmaestro.runtime.service import BACKLOG_POLL_S, observed, stop_on_signals
    from flowmaestro.scheduler import Scheduler

    structlog.get_logger().info("starting", role="scheduler")
    nc = await connect(nats_url, name="flowmaestro-scheduler")
    metrics = SchedulerMetrics()
    metrics.watch_nats(nc)
    js = nc.jetstream()

    async def backlog() -> None:  # every partition's, whoever holds it
        pending = 0
        for partition in range(SCHEDULER_PARTITIONS):
            info = await js.consumer_info(EXEC_STREAM, scheduler_partition(partition))
            pending += info.num_pending or 0
        metrics.backlog.set(pending)

    try:
        with observed(metrics) as served:
            if served:
                metrics.every(BACKLOG_POLL_S, backlog)
            await Scheduler(JetStreamEventLog(nc), metrics=metrics).run(stop_on_signals())
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler until SIGINT/SIGTERM."""
    _without_rich()
    from flowmaestro.runtime.service import run_service, stack_value

    parser = argparse.ArgumentParser(prog="python -m flowmaestro.scheduler")
    parser.add_argument("--nats", help="NATS URL (default: FLOWMAESTRO_NATS_URL or the stack's)")
    args = parser.parse_args(argv)
    return run_service(_run(stack_value("nats_url", "FLOWMAESTRO_NATS_URL", args.nats)))


if __name__ == "__main__":
    sys.exit(main())
