"""The `flowmaestro` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
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
    up.add_argument(
        "--cluster",
        type=int,
        metavar="N",
        help="run N nats-servers (at least 3) as one cluster, every stream replicated",
    )
    up.add_argument(
        "--schedulers",
        type=int,
        metavar="N",
        help="run N scheduler processes sharing the executions "
        "(default: FLOWMAESTRO_SCHEDULERS or 1)",
    )

    run = sub.add_parser("run", help="run a workflow file and follow it")
    run.add_argument("file", type=Path)
    run.add_argument("--input", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--inputs", type=Path, metavar="FILE", help="JSON object of inputs")
    run.add_argument("--detach", action="store_true", help="print the id and return")

    export = sub.add_parser("export", help="write an execution's log as JSON Lines")
    export.add_argument("execution_id")

    replay = sub.add_parser(
        "replay",
        help="fold an execution's log and print its timeline; with --against, run it again "
        "on another definition and report each node",
    )
    replay.add_argument("execution_id", nargs="?")
    replay.add_argument("--file", type=Path, help="an exported .jsonl log")
    replay.add_argument(
        "--against",
        type=Path,
        metavar="WORKFLOW",
        help="a workflow file: unchanged nodes reuse their recorded results, the rest run",
    )
    replay.add_argument("--yes", action="store_true", help="with --against: start without asking")
    replay.add_argument(
        "--dry", action="store_true", help="with --against: only the plan and side effects"
    )

    rerun = sub.add_parser("rerun", help="run an execution again (same version and inputs)")
    rerun.add_argument("execution_id")
    rerun.add_argument("--yes", action="store_true", help="start without asking")
    rerun.add_argument("--dry", action="store_true", help="only the side-effect preview")
    retry = sub.add_parser(
        "retry", help="run a node and what depends on it again, reusing every other result"
    )
    retry.add_argument("execution_id")
    retry.add_argument("--from", dest="node_id", required=True, metavar="NODE")
    retry.add_argument("--yes", action="store_true", help="start without asking")
    retry.add_argument("--dry", action="store_true", help="only the plan and side effects")
    fork = sub.add_parser(
        "fork", help="a new execution from the first SEQ events of a log, reusing their results"
    )
    fork.add_argument("execution_id")
    fork.add_argument("--at", type=int, required=True, metavar="SEQ", help="events kept (≥ 1)")
    fork.add_argument(
        "--set", action="append", default=[], metavar="NODE.output=JSON", help="replace an output"
    )
    fork.add_argument("--yes", action="store_true", help="start without asking")
    fork.add_argument("--dry", action="store_true", help="only the plan and side effects")

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

    batch = sub.add_parser(
        "batch", help="run a stored workflow once per CSV row, through the gateway"
    )
    batch.add_argument("workflow_id", metavar="WORKFLOW", help="the stored workflow's id")
    batch.add_argument("--csv", type=Path, required=True, metavar="FILE", help="header = inputs")
    batch.add_argument("--concurrency", type=int, help="rows run at once (default: the maximum)")
    batch.add_argument("--version", type=int, help="the workflow version (default: current)")
    batch.add_argument("--output", type=Path, help="write results here (.csv or .jsonl)")
    batch.add_argument("--detach", action="store_true", help="print the batch id and return")
    batch.add_argument(
        "--gateway", help="gateway URL (default: FLOWMAESTRO_GATEWAY_URL or the stack's)"
    )

    executions = sub.add_parser("executions", help="list recent executions")
    executions.add_argument("--limit", type=int, default=20)

    sub.add_parser("down", help="stop whatever the state folder's stack left running")
    sub.add_parser("gateway", help="run the HTTP gateway and projector (used by `up`)")
    sub.add_parser("migrate", help="apply the read model's SQL migrations")
    sub.add_parser("setup", help="create or update streams, consumers and buckets (done by `up`)")
    project = sub.add_parser("project", help="manage the PostgreSQL projection of the logs")
    project.add_argument(
        "--rebuild", action="store_true", required=True, help="recompute it from the event log"
    )

    from flowmaestro.cli.history import add_parsers as add_history
    from flowmaestro.cli.triggers import add_parser as add_triggers

    add_triggers(sub)
    add_history(sub)

    sub.add_parser("scheduler", help="run the scheduler (used by `up`)")
    executors = sub.add_parser("executors", help="run executor pools (used by `up`)")
    executors.add_argument("--types", nargs="*", help="node types (default: all)")
    executors.add_argument(
        "--plugins", nargs="*", help="also the node types of these installed plugin packages"
    )
    return parser


SERVICE_COMMANDS = {
    "gateway": ("flowmaestro.gateway", "serve"),
    "migrate": ("flowmaestro.gateway", "migrate"),
    "project": ("flowmaestro.gateway", "project", "--rebuild"),
    "scheduler": ("flowmaestro.scheduler",),
    "executors": ("flowmaestro.executors",),
}
"""Commands that are a service's own entry point (`python -m ...`), run in this process's
place so the CLI never imports a service."""


def _exec_service(args: argparse.Namespace) -> None:
    module, *rest = SERVICE_COMMANDS[args.command]
    argv = [sys.executable, "-m", module]
    if args.nats:
        argv += ["--nats", args.nats]
    argv += rest
    if args.command == "executors" and args.types:
        argv += ["--types", *args.types]
    if args.command == "executors" and args.plugins:
        argv += ["--plugins", *args.plugins]
    os.execv(sys.executable, argv)


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    # structlog loads `rich`, when installed, for tracebacks we never print that way (see
    # flowmaestro.runtime.logs): about 15 MB in every process; so before any other import
    sys.modules.setdefault("rich", None)  # pyright: ignore[reportArgumentType]
    args = _parser().parse_args(argv)
    from flowmaestro.cli.stack import (
        StackNotFoundError,
        down,
        find_nats_url,
        prepare_topology,
        up,
        use_operator_identity,
    )

    if args.command in SERVICE_COMMANDS:
        if args.command == "project":
            use_operator_identity()  # the rebuild reads every log
        _exec_service(args)
    # `up` supervises for as long as the stack runs: it loads no NATS client, logging or
    # command code (its setup runs in a child process), so it stays small.
    if args.command == "up":
        return up(sync_always=args.durable_sync, cluster=args.cluster, schedulers=args.schedulers)
    if args.command == "down":
        return down()
    from flowmaestro.cli import commands
    from flowmaestro.runtime.connection import NatsUnreachableError
    from flowmaestro.runtime.errors import PayloadTooLargeError
    from flowmaestro.runtime.logs import configure_logging

    configure_logging("WARNING")
    policy = asyncio.get_event_loop_policy()  # given back at the end (main may run in-process)
    _use_uvloop()
    try:
        if args.command == "batch":
            from flowmaestro.cli.batch import batch
            from flowmaestro.runtime.service import stack_value

            gateway = stack_value("gateway_url", "FLOWMAESTRO_GATEWAY_URL", args.gateway)
            return batch(
                gateway,
                args.workflow_id,
                args.csv,
                args.concurrency,
                args.version,
                args.output,
                args.detach,
            )
        if args.command == "triggers":
            from flowmaestro.cli.triggers import triggers

            return triggers(args)
        use_operator_identity()
        if args.command == "replay":
            if (args.execution_id is None) == (args.file is None):
                raise commands.CommandError("give an execution id or --file, not both")
            if args.against is None and args.dry:
                raise commands.CommandError("--dry goes with --against")
            url = find_nats_url(args.nats) if args.file is None else None
            if args.against is not None:
                if url is None:
                    raise commands.CommandError("--against replays a stored execution, not --file")
                from flowmaestro.cli.derive import derive

                run = derive(
                    url,
                    "replay",
                    args.execution_id,
                    against=args.against,
                    dry=args.dry,
                    yes=args.yes,
                )
                return asyncio.run(run)
            return asyncio.run(commands.replay_cmd(url, args.execution_id, args.file))
        url = find_nats_url(args.nats)
        if args.command in ("rerun", "retry", "fork"):
            from flowmaestro.cli.derive import derive

            return asyncio.run(
                derive(
                    url,
                    args.command,
                    args.execution_id,
                    node_id=getattr(args, "node_id", None),
                    at=getattr(args, "at", None),
                    sets=getattr(args, "set", None),
                    dry=args.dry,
                    yes=args.yes,
                )
            )
        if args.command == "setup":
            prepare_topology(url)
            print("streams, consumers and buckets are in place")
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
        from flowmaestro.cli import history

        if args.command in history.COMMANDS:
            return asyncio.run(history.run_command(args, url))
    except (
        commands.CommandError,
        StackNotFoundError,
        NatsUnreachableError,
        PayloadTooLargeError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130
    finally:
        asyncio.set_event_loop_policy(policy)
    return 2


if __name__ == "__main__":
    sys.exit(main())
