"""Record example executions as JSON Lines logs under tests/fixtures/ (run against a stack).

    .venv/bin/python scripts/record_fixtures.py NATS_URL

Then regenerate the timeline snapshots with
`FLOWMAESTRO_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/test_replay_fixtures.py`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from flowmaestro.events.codec import record_to_json
from flowmaestro.runtime import ExecutionLog, connect
from tests.support.engine import load_example, run, start, wait_for_end, wait_for_waiting

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
CASES = {
    "branch": ("branch", {"amount": 150}),
    "retry": ("retry", {}),
    "switch": ("switch", {"tier": "iron"}),
    "transform-chain": (
        "transform-chain",
        {"orders": [{"name": "a", "price": 5}, {"name": "b", "price": 20}]},
    ),
    "loop": ("loop", {"numbers": [2, 3]}),
}


async def main(url: str) -> None:
    """Run each case and write its log."""
    nc = await connect(url)
    log = ExecutionLog(nc)
    for name, (example, inputs) in CASES.items():
        state, records = await run(nc, load_example(example), inputs)
        (FIXTURES / f"{name}.jsonl").write_text(
            "".join(record_to_json(seq, e) + "\n" for seq, e in records)
        )
        print(name, state.status)
    execution_id = await start(nc, load_example("approval"), {"amount": 5})
    await wait_for_waiting(nc, execution_id, "approve")
    from flowmaestro.runtime.answers import submit_answer

    await submit_answer(log, execution_id, "approve", {"approved": False, "comment": "no"})
    _, records = await wait_for_end(nc, execution_id)
    (FIXTURES / "approval-rejected.jsonl").write_text(
        "".join(record_to_json(seq, e) + "\n" for seq, e in records)
    )
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
