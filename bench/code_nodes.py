"""Code-node latency: p50 of a cold run (the first in a fresh process) and of warm runs,
for JavaScript and Python, measured through the sandbox API the `code` node calls.

Warm runs are 20 ms apart (`BENCH_GAP_S`), as nodes of a workflow are.
Usage: python bench/code_nodes.py [javascript|python]  (prints one JSON line)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

from flowmaestro.executors.sandbox import Limits, run_javascript, run_python

WARM_RUNS = 30
GAP_S = float(os.environ.get("BENCH_GAP_S", "0.02"))  # a node seldom follows another at once
CODE = {"javascript": "return input.x + 1", "python": "return input['x'] + 1"}


async def main(language: str) -> None:
    """Time one cold run and `WARM_RUNS` warm ones; print p50s in milliseconds."""
    run = run_javascript if language == "javascript" else run_python
    limits = Limits(seconds=5, memory_mb=64)
    began = time.perf_counter()
    await run(CODE[language], {"x": 1}, limits)
    cold = (time.perf_counter() - began) * 1000
    warm = []
    for _ in range(WARM_RUNS):
        await asyncio.sleep(GAP_S)
        began = time.perf_counter()
        result = await run(CODE[language], {"x": 1}, limits)
        warm.append((time.perf_counter() - began) * 1000)
        assert result.output == 2
    print(
        json.dumps(
            {
                "language": language,
                "cold_ms": round(cold, 2),
                "warm_p50_ms": round(statistics.median(warm), 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "javascript"))
