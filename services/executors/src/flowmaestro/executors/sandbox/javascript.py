"""JavaScript in worker processes, a fresh V8 isolate per run: no modules, no network,
no files, and no WebAssembly unless asked for.

Each worker process runs one isolate at a time, under an address-space limit (so
ArrayBuffer and WebAssembly memory count, not only the V8 heap) and the pool's memory
watch; a run that crashes or overruns its worker fails alone, and the worker is replaced.
"""

from __future__ import annotations

from typing import Any

from flowmaestro.executors import settings
from flowmaestro.executors.sandbox.limits import Limits, SandboxError, SandboxResult
from flowmaestro.executors.workers import LazyPool, PoolSpec, TaskFailed

__all__ = ["javascript_pool", "run_javascript"]

# V8 stops a runaway script itself at the time limit; killing the worker is the backstop.
_KILL_GRACE_S = 1.0


def _spec() -> PoolSpec:
    size = settings.JS_WORKERS.read_int()
    return PoolSpec(
        name="javascript",
        module="flowmaestro.workers.javascript",
        size=size,
        per_owner=settings.per_tenant(size),
        max_queue=settings.QUEUE.read_int(),
    )


javascript_pool = LazyPool(_spec)
"""The JavaScript workers of this process, started on first use."""


async def run_javascript(
    code: str, document: Any, limits: Limits, *, owner: str = "", webassembly: bool = False
) -> SandboxResult:
    """Run `code` as the body of `function (input)` for `owner`; return its JSON result."""
    payload = {
        "code": code,
        "input": document,
        "seconds": limits.seconds,
        "memory_mb": limits.memory_mb,
        "webassembly": webassembly,
    }
    try:
        output = await javascript_pool.get().run(
            owner, payload, seconds=limits.seconds + _KILL_GRACE_S, memory_mb=limits.memory_mb
        )
    except TaskFailed as exc:
        message = exc.message
        if exc.kind == "timeout":
            message = f"time limit of {limits.seconds:g}s exceeded"
        elif exc.kind == "memory" and "allocation failed" not in message:
            message = f"memory limit of {limits.memory_mb} MB exceeded"
        raise SandboxError(exc.kind, message) from exc
    return SandboxResult(output=output)
