"""`python -m flowmaestro.scheduler`: the scheduler process (what `flowmaestro up` runs)."""

from __future__ import annotations

import argparse
import sys

from flowmaestro.runtime.service import run_service, stack_value, stop_on_signals


async def _run(nats_url: str) -> None:
    import structlog

    from flowmaestro.runtime import connect
    from flowmaestro.scheduler import Scheduler

    structlog.get_logger().info("starting", role="scheduler")
    nc = await connect(nats_url, name="flowmaestro-scheduler")
    try:
        await Scheduler(nc).run(stop_on_signals())
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m flowmaestro.scheduler")
    parser.add_argument("--nats", help="NATS URL (default: FLOWMAESTRO_NATS_URL or the stack's)")
    args = parser.parse_args(argv)
    return run_service(_run(stack_value("nats_url", "FLOWMAESTRO_NATS_URL", args.nats)))


if __name__ == "__main__":
    sys.exit(main())
