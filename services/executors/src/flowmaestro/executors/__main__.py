"""`python -m flowmaestro.executors`: the executor pools (what `flowmaestro up` runs)."""

from __future__ import annotations

import argparse
import os
import sys


def _without_rich() -> None:
    """structlog loads `rich`, when installed, for tracebacks we never print that way
    (see flowmaestro.runtime.logs): about 15 MB in every process. Called before any
    FlowMaestro import."""
    sys.modules.setdefault("rich", None)  # pyright: ignore[reportArgumentType]


async def _run(nats_url: str, types: list[str] | None, plugins: list[str] | None) -> None:
    from flowmaestro.events.catalogue import PLUGINS
    from flowmaestro.executors import EXECUTORS, ExecutorWorker
    from flowmaestro.executors.plugins import choose
    from flowmaestro.runtime import connect
    from flowmaestro.runtime.metrics import ExecutorMetrics
    from flowmaestro.runtime.service import BACKLOG_POLL_S, observed, stop_on_signals

    chosen = choose(EXECUTORS, PLUGINS, types, plugins)
    nc = await connect(nats_url, name="flowmaestro-executors")
    metrics = ExecutorMetrics()
    metrics.watch_nats(nc)
    try:
        with observed(metrics) as served:
            worker = ExecutorWorker(nc, chosen, metrics=metrics)
            if served:
                metrics.every(BACKLOG_POLL_S, worker.poll_backlogs)
            await worker.run(stop_on_signals())
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    """Run one pool per node type (all, or `--types` and `--plugins`) until SIGINT/SIGTERM."""
    _without_rich()
    from flowmaestro.runtime.service import run_service, stack_value

    parser = argparse.ArgumentParser(prog="python -m flowmaestro.executors")
    parser.add_argument("--nats", help="NATS URL (default: FLOWMAESTRO_NATS_URL or the stack's)")
    parser.add_argument("--types", nargs="*", help="node types (default: all)")
    parser.add_argument(
        "--plugins", nargs="*", help="also the node types of these installed plugin packages"
    )
    args = parser.parse_args(argv)
    from flowmaestro.runtime.secrets import KeyRing

    if os.environ.get("FLOWMAESTRO_ENV") == "production" and KeyRing.from_env().is_development:
        print("error: FLOWMAESTRO_SECRET_KEYS must be set in production", file=sys.stderr)
        return 2
    url = stack_value("nats_url", "FLOWMAESTRO_NATS_URL", args.nats)
    return run_service(_run(url, args.types, args.plugins))


if __name__ == "__main__":
    sys.exit(main())
