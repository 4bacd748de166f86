"""JSONata and JMESPath evaluation, in the expression worker pool, never on the event loop.

An expression can run away in ways its own bounds do not stop (a catastrophic regex in
`$match`, `$sum([1..1e7])`, a JMESPath value that doubles): the pool kills the worker at
the time limit, and only this node fails.
"""

from __future__ import annotations

from typing import Any

from flowmaestro.executors import settings
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.workers import LazyPool, PoolSpec, TaskFailed

__all__ = ["evaluate", "expression_pool", "truthy"]

# The worker's own JSONata bound answers first; the kill is the backstop.
_KILL_GRACE_S = 0.25


def _spec() -> PoolSpec:
    size = settings.EXPRESSION_WORKERS.read_int()
    return PoolSpec(
        name="expression",
        module="flowmaestro.workers.expressions",
        size=size,
        per_owner=settings.per_tenant(size),
        max_queue=settings.QUEUE.read_int(),
    )


expression_pool = LazyPool(_spec)
"""The expression workers of this process, started on first use."""


async def evaluate(
    language: str,
    expression: str,
    document: Any,
    timeout_ms: int = 1000,
    max_depth: int = 200,
    *,
    owner: str = "",
) -> Any:
    """Evaluate `expression` over `document` for `owner`; a bad or runaway one is terminal.

    `timeout_ms` is bounded by the operator's maximum, which the validator and the
    executor's check of resolved configs enforce before this runs.
    """
    payload = {
        "language": language,
        "expression": expression,
        "document": document,
        "timeout_ms": timeout_ms,
        "max_depth": max_depth,
    }
    try:
        return await expression_pool.get().run(
            owner,
            payload,
            seconds=timeout_ms / 1000 + _KILL_GRACE_S,
            memory_mb=settings.EXPRESSION_MEMORY_MB.read_int(),
        )
    except TaskFailed as exc:
        if exc.kind == "busy":
            raise RetryableNodeError(exc.message, kind="busy", retry_after=1.0) from exc
        message = exc.message
        if exc.kind == "timeout":
            message = f"the expression ran longer than {timeout_ms} ms"
        elif exc.kind == "memory":
            message = "the expression used more memory than allowed"
        raise TerminalNodeError(message, kind=exc.kind) from exc


def truthy(value: Any) -> bool:
    """JSON truthiness: null, false, 0, "" and empty arrays/objects are false."""
    return bool(value)
