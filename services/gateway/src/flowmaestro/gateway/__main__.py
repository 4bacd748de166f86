"""`python -m flowmaestro.gateway [serve|prepare|migrate|project --rebuild]`: the HTTP
gateway and projector, and its one-shot database tasks (what `flowmaestro up` runs)."""

from __future__ import annotations

import argparse
import asyncio
import sys


def _without_rich() -> None:
    """structlog loads `rich`, when installed, for tracebacks we never print that way
    (see flowmaestro.runtime.logs): about 15 MB in every process. Called before any
    FlowMaestro import."""
    sys.modules.setdefault("rich", None)  # pyright: ignore[reportArgumentType]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flowmaestro.gateway")
    parser.add_argument("--nats", help="NATS URL (default: FLOWMAESTRO_NATS_URL or the stack's)")
    sub = parser.add_subparsers(dest="task")
    sub.add_parser("serve", help="serve the API and run the projector (the default)")
    sub.add_parser("prepare", help="check the settings, migrate, and create the development user")
    sub.add_parser("migrate", help="apply the read model's SQL migrations")
    project = sub.add_parser("project", help="manage the PostgreSQL projection of the logs")
    project.add_argument(
        "--rebuild", action="store_true", required=True, help="recompute it from the event log"
    )
    return parser


def _prepare(database_url: str) -> int:
    from flowmaestro.gateway import GatewaySettings
    from flowmaestro.gateway.commands import ensure_dev_user, migrate_database
    from flowmaestro.gateway.config import DEV_USER_EMAIL, DEV_USER_PASSWORD

    settings = GatewaySettings.from_env("nats://unused", database_url)
    settings.check()
    asyncio.run(migrate_database(database_url))
    if not settings.production:
        asyncio.run(ensure_dev_user(database_url))
        print(f"Development user: {DEV_USER_EMAIL} / {DEV_USER_PASSWORD}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the task named on the command line; returns the exit code."""
    _without_rich()
    from flowmaestro.runtime.service import StackNotFoundError, run_service, stack_value

    args = _parser().parse_args(argv)
    from flowmaestro.gateway.errors import GatewayError

    task = args.task or "serve"
    try:
        database_url = stack_value("database_url", "FLOWMAESTRO_DATABASE_URL")
        if task == "prepare":
            return _prepare(database_url)
        if task == "migrate":
            from flowmaestro.gateway.commands import migrate_database

            applied = asyncio.run(migrate_database(database_url))
            print(f"applied migrations: {applied or 'none (up to date)'}")
            return 0
        from flowmaestro.gateway import GatewaySettings

        nats_url = stack_value("nats_url", "FLOWMAESTRO_NATS_URL", args.nats)
        settings = GatewaySettings.from_env(nats_url, database_url)
        if task == "project":
            from flowmaestro.gateway.commands import rebuild_projection

            count = asyncio.run(rebuild_projection(settings))
            print(f"rebuilt the projection of {count} executions")
            return 0
        from flowmaestro.gateway.commands import run_gateway

        return run_service(run_gateway(settings))
    except (GatewayError, StackNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)


if __name__ == "__main__":
    sys.exit(main())
