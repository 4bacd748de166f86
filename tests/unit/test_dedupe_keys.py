"""Dedupe keys are made in `flowmaestro.events.names` only, and keep their recorded spelling.

Every append's `Nats-Msg-Id` is recorded with the log; an old log replays only if the same
decisions produce the same keys, so no key may change its spelling, and none may be spelled
outside the one module that owns them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flowmaestro.events import names

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "cli"]
NAMES_MODULE = Path(names.__file__).resolve()

# Literal parts of a key: words joined by ':' or '-', e.g. ":", ":rec:", ":retry-timer".
_COLON_PART = re.compile(r"^(:[a-z][a-z-]*)*:?$")
_DASH_PART = re.compile(r"^(-[a-z][a-z]*)*-?$")


def looks_like_key(node: ast.JoinedStr) -> bool:
    """Whether an f-string has the shape of a dedupe key, timer id or child execution id:
    it starts with a value and joins values with ':' (or '-') and lowercase words, and
    either names a kind (`{x}:rec:{y}`, `{e}:end`, `{n}-{a}-retry`) or joins three ids."""
    parts = node.values
    if not parts or not isinstance(parts[0], ast.FormattedValue):
        return False
    texts = [p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    values = sum(isinstance(p, ast.FormattedValue) for p in parts)
    if not texts:
        return False
    for separator, shape in ((":", _COLON_PART), ("-", _DASH_PART)):
        if not all(shape.match(t) and separator in t for t in texts):
            continue
        named = any(t.strip(separator) for t in texts)
        if (separator == ":" and named) or (named and values >= 2) or values >= 3:
            return True
    return False


def spellings(source: str) -> list[str]:
    """The key-shaped f-strings in `source`, as written."""
    tree = ast.parse(source)
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr) and looks_like_key(node)
    ]


@pytest.mark.parametrize(
    "spelling",
    [
        'f"{eid}:{node_id}:{attempt}:scheduled"',
        'f"{eid}:{node_id}:{attempt}"',
        'f"{eid}:{node_id}:skipped"',
        'f"{eid}:{node_id}:{node.attempt + 1}:retrying"',
        'f"{eid}:{node_id}:{attempt}:retry-timer"',
        'f"{command.idempotency_key}:rec:{key}"',
        'f"{child}:cancel"',
        'f"{eid}:end"',
        'f"{node_id}-{node.attempt}-retry"',
        'f"{execution_id}-{node_id}-{attempt}-{index}"',
        'f"{parent.execution_id}-{parent.node_id}-{parent.attempt}-"',
    ],
)
def test_the_scan_sees_each_legacy_spelling(spelling: str) -> None:
    assert len(spellings(spelling)) == 1


@pytest.mark.parametrize(
    "text",
    [
        'f"{host}:{port}"',
        'f"{eid}:{node_id}"',
        'f"{name}-wire"',
        'f"{what}: {message}"',
        'f"{base}/models/{model}:{action}"',
        'f"flowmaestro:{key}"',
        'f"{kind}_url"',
    ],
)
def test_the_scan_leaves_other_text_alone(text: str) -> None:
    assert spellings(text) == []


def test_no_module_but_names_spells_a_dedupe_key() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {spelling}"
        for base in SOURCES
        for path in sorted(base.rglob("*.py"))
        if path.resolve() != NAMES_MODULE and ".venv" not in path.parts
        for spelling in spellings(path.read_text())
    ]
    assert found == []


def test_keys_keep_their_recorded_spelling() -> None:
    assert names.command_key("ex", "n", 2) == "ex:n:2"
    assert names.scheduled_key("ex", "n", 2) == "ex:n:2:scheduled"
    assert names.execute_key("ex", "n", 2) == "ex:n:2:execute"
    assert names.result_key("ex", "n", 2) == "ex:n:2:result"
    assert names.answer_key("ex", "n", 2) == "ex:n:2:answer"
    assert names.retrying_key("ex", "n", 3) == "ex:n:3:retrying"
    assert names.retry_timer_key("ex", "n", 2) == "ex:n:2:retry-timer"
    assert names.skipped_key("ex", "n") == "ex:n:skipped"
    assert names.record_key("ex:n:2", "tool-1") == "ex:n:2:rec:tool-1"
    assert names.call_key("ex:n:2", "turn-1") == "ex:n:2:turn-1"
    assert names.started_key("ex") == "ex:started"
    assert names.end_key("ex") == "ex:end"
    assert names.stop_key("ex") == "ex:stop"
    assert names.control_key("ex", "cancel") == "ex:cancel"
    assert names.control_key("ex", "pause", 1) == "ex:pause:1"
    assert names.control_key("ex", "resume", 0) == "ex:resume:0"
    assert names.linked_key("ex-n-2-0") == "ex-n-2-0:linked"
    assert names.finished_key("ex-n-2-0") == "ex-n-2-0:finished"


def test_ids_keep_their_recorded_spelling() -> None:
    assert names.retry_timer_id("n", 2) == "n-2-retry"
    assert names.node_timer_id("n", 2) == "n-2-wait"
    assert names.child_prefix("ex", "n", 2) == "ex-n-2-"
    assert names.child_execution_id("ex", "n", 2, 0) == "ex-n-2-0"
    assert names.child_execution_id("ex", "n", 2, "call_1") == "ex-n-2-call_1"
