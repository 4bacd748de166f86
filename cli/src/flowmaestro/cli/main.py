"""The `flowmaestro` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowmaestro", description="Durable AI-agent workflows on an event log."
    )
    parser.add_argument(
        "--nats",
        help="NATS URL (default: FLOWMAESTRO_NATS_URL or the running stack's state folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the whole stack in the foreground")
    up.add_argument(
        "--durable-sync", action="store_true", help="have JetStream sync every write to disk"
    )

    run = sub.add_parser("run", help="run a workflow file and follow it")
    run.add_argument("file", type=Path)
    run.add_argument("--input", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--inputs", type=Path, metavar="FILE", help="JSON object of inputs")
    run.add_argument("--detach", action="store_true", help="print the id and return")

    export = sub.add_parser("export", help="write an execution's log as JSON Lines")
    export.add_argument("execution_id")

    replay = sub.add_parser("replay", help="fold an execution's log and print its timeline")
    replay.add_argument("execution_id", nargs="?")
    replay.add_argument("--file", type=Path, help="an exported .jsonl log")

    cancel = sub.add_parser("cancel", help="cancel a running execution")
    cancel.add_argument("execution_id")
    cancel.add_argument("--reason")

    pause = sub.add_parser("pause", help="hold a running execution (no new node starts)")
    pause.add_argument("execution_id")
    resume = sub.add_parser("resume", help="let a paused execution carry on")
    resume.add_argument("execution_id")

    answer = sub.add_parser("input", help="answer a waiting human-input node")
    answer.add_argument("execution_id")
    answer.add_argument("node_id")
    answer.add_argument("--data", required=True, help="the answer as a JSON object")

    executions = sub.add_parser("executions", help="list recent executions")
    executions.add_argument("--limit", type=int, default=20)

    sub.add_parser("gateway", help="run the HTTP gateway and projector (used by `up`)")
    sub.add_parser("migrate", help="apply the read model's SQL migrations")
    sub.add_parser("setup", help="create or update streams, consumers and buckets (done by `up`)")
    project = sub.add_parser("project", help="manage the PostgreSQL projection of the logs")
    project.add_argument(
        "--rebuild", action="store_true", required=True, help="recompute it from the event log"
    )

    sub.add_parser("scheduler", help="run the scheduler (used by `up`)")
    executors = sub.add_parser("executors", help="run executor pools (used by `up`)")
    executors.add_argument("--types", nargs="*", help="node types (default: all)")
    return parser


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _reported_errors() -> tuple[type[Exception], ...]:
    """Errors printed as one line. Imported only once one happens, so that a scheduler or
    executor process does not load the gateway (and its web framework)."""
    from flowmaestro.cli.commands import CommandError
    from flowmaestro.cli.stack import StackNotFoundError
    from flowmaestro.gateway.errors import GatewayError
    from flowmaestro.runtime.connect import NatsUnreachableError
    from flowmaestro.runtime.errors import PayloadTooLargeError

    return (
        CommandError,
        StackNotFoundError,
        NatsUnreachableError,
        PayloadTooLargeError,
        GatewayError,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    from flowmaestro.cli import commands
    from flowmaestro.cli.stack import find_database_url, find_nats_url, up
    from flowmaestro.runtime.logs import configure_logging

    service = args.command in ("up", "scheduler", "executors", "gateway")
    configure_logging("INFO" if service else "WARNING")
    _use_uvloop()
    try:
        if args.command == "up":
            return up(sync_always=args.durable_sync)
        if args.command == "replay":
            if (args.execution_id is None) == (args.file is None):
                raise commands.CommandError("give an execution id or --file, not both")
            url = find_nats_url(args.nats) if args.file is None else None
            return asyncio.run(commands.replay_cmd(url, args.execution_id, args.file))
        if args.command == "migrate":
            from flowmaestro.gateway.commands import migrate_database

            applied = asyncio.run(migrate_database(find_database_url()))
            print(f"applied migrations: {applied or 'none (up to date)'}")
            return 0
        url = find_nats_url(args.nats)
        if args.command in ("gateway", "project"):
            from flowmaestro.gateway import GatewaySettings
            from flowmaestro.gateway.commands import rebuild_projection, run_gateway

            settings = GatewaySettings.from_env(url, find_database_url())
            if args.command == "gateway":
                asyncio.run(run_gateway(settings))
                return 0
            count = asyncio.run(rebuild_projection(settings))
            print(f"rebuilt the projection of {count} executions")
            return 0
        if args.command == "setup":
            from flowmaestro.cli.services import prepare

            asyncio.run(prepare(url))
            print("streams, consumers and buckets are in place")
            return 0
        if args.command == "scheduler":
            from flowmaestro.cli.services import run_scheduler

            asyncio.run(run_scheduler(url))
            return 0
        if args.command == "executors":
            from flowmaestro.cli.services import run_executors

            asyncio.run(run_executors(url, args.types))
            return 0
        if args.command == "run":
            return asyncio.run(commands.run(url, args.file, args.input, args.inputs, args.detach))
        if args.command == "export":
            return asyncio.run(commands.export(url, args.execution_id))
        if args.command == "cancel":
            return asyncio.run(commands.cancel(url, args.execution_id, args.reason))
        if args.command == "pause":
            return asyncio.run(commands.pause(url, args.execution_id))
        if args.command == "resume":
            return asyncio.run(commands.resume(url, args.execution_id))
        if args.command == "input":
            return asyncio.run(commands.answer(url, args.execution_id, args.node_id, args.data))
        if args.command == "executions":
            return asyncio.run(commands.executions(url, args.limit))
    except Exception as exc:
        if not isinstance(exc, _reported_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
