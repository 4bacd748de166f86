"""Live message types (`execution:*`, `node:*`, `user:input:*`, ...) are spelled in
`flowmaestro.events.names` only, and keep the spelling clients match on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flowmaestro.events import names
from flowmaestro.events.names import LiveMessage

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "cli"]
NAMES_MODULE = Path(names.__file__).resolve()
_LIVE_TYPE = re.compile(r"^(execution|node|user|connection|batch):[a-z:_]+$")


def live_types_in(source: str) -> list[str]:
    """String literals in `source` that have the shape of a live message type."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _LIVE_TYPE.match(node.value)
    ]


def test_the_scan_sees_a_live_type() -> None:
    assert live_types_in('kind = "node:stream"\nsend("user:input:response")') == [
        "node:stream",
        "user:input:response",
    ]
    assert live_types_in('x = "node: failed"\ny = "host:port"') == []


def test_no_module_but_names_spells_a_live_type() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {text}"
        for base in SOURCES
        for path in sorted(base.rglob("*.py"))
        if path.resolve() != NAMES_MODULE and ".venv" not in path.parts
        for text in live_types_in(path.read_text())
    ]
    assert found == []


def test_live_types_keep_their_spelling() -> None:
    assert {m.name: m.value for m in LiveMessage} == {
        "EXECUTION_STARTED": "execution:started",
        "EXECUTION_COMPLETED": "execution:completed",
        "EXECUTION_FAILED": "execution:failed",
        "EXECUTION_CANCELLED": "execution:cancelled",
        "EXECUTION_PAUSED": "execution:paused",
        "EXECUTION_RESUMED": "execution:resumed",
        "EXECUTION_PROGRESS": "execution:progress",
        "BATCH_PROGRESS": "batch:progress",
        "BATCH_ENDED": "batch:ended",
        "NODE_STARTED": "node:started",
        "NODE_COMPLETED": "node:completed",
        "NODE_FAILED": "node:failed",
        "NODE_RETRY": "node:retry",
        "NODE_SKIPPED": "node:skipped",
        "NODE_STREAM": "node:stream",
        "USER_INPUT_REQUIRED": "user:input:required",
        "USER_INPUT_RESPONSE": "user:input:response",
        "CONNECTION_ESTABLISHED": "connection:established",
        "SUBSCRIBE": "subscribe",
        "SUBSCRIBED": "subscribed",
        "UNSUBSCRIBE": "unsubscribe",
        "UNSUBSCRIBED": "unsubscribed",
        "PING": "ping",
        "PONG": "pong",
        "ERROR": "error",
    }
