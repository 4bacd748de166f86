"""Service logs: one JSON object per line by default, `key=value` lines with
`FLOWMAESTRO_LOG_FORMAT=console`; lines written inside a node attempt's scope (and the
tasks it starts) carry its execution, node, attempt and trace id; redaction still runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

PROGRAM = textwrap.dedent(
    f"""
    import asyncio
    import logging
    import structlog
    from flowmaestro.runtime.logs import configure_logging, log_scope
    from flowmaestro.runtime.tracing import trace_id_of

    configure_logging("INFO")
    log = structlog.get_logger("executors")

    def fields():
        return {{
            "execution_id": "exec-1",
            "node_id": "ai",
            "attempt": 2,
            "trace_id": trace_id_of("{TRACEPARENT}"),
        }}

    async def inner():
        log.warning("node.slow", token="sk-abcdefghijklmnop")

    async def main():
        log.info("outside")
        with log_scope(fields):
            await asyncio.ensure_future(inner())  # a task started in the scope
            logging.getLogger("uvicorn.error").error("library line")
            log.info("explicit", node_id="other")

    asyncio.run(main())
    """
)


def _run(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_json_lines_carry_the_attempt_scope() -> None:
    lines = [json.loads(line) for line in _run({})]
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"outside", "node.slow", "library line", "explicit"}
    assert "execution_id" not in by_event["outside"]
    for event in ("node.slow", "library line"):
        line = by_event[event]
        assert line["execution_id"] == "exec-1"
        assert line["node_id"] == "ai"
        assert line["attempt"] == 2
        assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert line["level"] in ("warning", "error") and line["timestamp"]
    assert by_event["node.slow"]["token"] == "[redacted]"
    assert by_event["explicit"]["node_id"] == "other", "an explicit field wins"


def test_console_format_is_one_switch() -> None:
    lines = _run({"FLOWMAESTRO_LOG_FORMAT": "console"})
    assert len(lines) == 4
    for line in lines:
        assert not line.startswith("{")
    (slow,) = [line for line in lines if "node.slow" in line]
    assert "execution_id=exec-1" in slow and "attempt=2" in slow
    assert "trace_id=0af7651916cd43dd8448eb211c80319c" in slow
    assert "sk-abcdefghijklmnop" not in slow
