"""Executor of `database`: parameterised SQL against a PostgreSQL integration."""

from __future__ import annotations

from flowmaestro.events.catalogue import DatabaseConfig
from flowmaestro.executors.context import NodeContext, NodeResult

__all__ = ["run_database"]


async def run_database(ctx: NodeContext, config: DatabaseConfig) -> NodeResult:
    """Run the statement with its bound parameters; output rows as JSON objects."""
    # Imported on first use: the PostgreSQL driver slows every executor's start.
    from flowmaestro.executors.postgres import query

    integration = await ctx.integration(config.integration_id)
    return NodeResult(output=await query(integration, config))
