"""`readiness()` honours a node spec's join mode: `all` waits, `any` runs on the first input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from flowmaestro.events import (
    ExecutionStarted,
    NodeCompleted,
    NodeScheduled,
    NodeSkipped,
    decide,
    fold,
    parse_definition,
)
from flowmaestro.events.decide import Dispatch, readiness
from flowmaestro.events.events import Event

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _definition(join_type: str, data: dict[str, Any]) -> Any:
    nodes = {
        "a": {"id": "a", "type": "echo", "data": {"value": 1}},
        "b": {"id": "b", "type": "echo", "data": {"value": 2}},
        "j": {"id": "j", "type": join_type, "data": data},
    }
    edges = [
        {"id": "e1", "source": "a", "target": "j"},
        {"id": "e2", "source": "b", "target": "j"},
    ]
    return parse_definition(msgspec.json.encode({"nodes": nodes, "edges": edges}))


def _state(join_type: str, data: dict[str, Any], *events: Event) -> Any:
    started = ExecutionStarted(
        execution_id="x1", definition=_definition(join_type, data), started_at=NOW
    )
    return fold([started, *events])


def _done(node_id: str, output: Any) -> list[Event]:
    return [
        NodeScheduled(node_id=node_id, attempt=1, scheduled_at=NOW, input_hash="h"),
        NodeCompleted(node_id=node_id, attempt=1, completed_at=NOW, output=output),
    ]


@pytest.mark.parametrize(
    ("join_type", "data", "expected"),
    [
        ("merge", {"mode": "all"}, "wait"),
        ("merge", {}, "wait"),
        ("echo", {}, "wait"),
        ("merge", {"mode": "any"}, "run"),
    ],
)
def test_one_input_done_other_running(join_type: str, data: dict[str, Any], expected: str) -> None:
    state = _state(
        join_type,
        data,
        *_done("a", 1),
        NodeScheduled(node_id="b", attempt=1, scheduled_at=NOW, input_hash="h"),
    )
    assert readiness(state, "j") == expected


@pytest.mark.parametrize("mode", ["all", "any"])
def test_every_input_skipped_skips_in_both_modes(mode: str) -> None:
    state = _state("merge", {"mode": mode}, NodeSkipped(node_id="a"), NodeSkipped(node_id="b"))
    assert readiness(state, "j") == "skip"


@pytest.mark.parametrize("mode", ["all", "any"])
def test_all_inputs_done_runs_in_both_modes(mode: str) -> None:
    state = _state("merge", {"mode": mode}, *_done("a", 1), *_done("b", 2))
    assert readiness(state, "j") == "run"


def test_any_waits_while_nothing_arrived() -> None:
    state = _state("merge", {"mode": "any"}, NodeSkipped(node_id="a"))
    assert readiness(state, "j") == "wait"


def test_decide_dispatches_an_any_merge_with_the_first_output_only() -> None:
    state = _state(
        "merge",
        {"mode": "any"},
        *_done("a", "first"),
        NodeScheduled(node_id="b", attempt=1, scheduled_at=NOW, input_hash="h"),
    )
    commands = [d.command for d in decide(state, NOW) if isinstance(d, Dispatch)]
    merge_commands = [c for c in commands if c.node_id == "j"]
    assert len(merge_commands) == 1
    assert merge_commands[0].upstream == {"a": "first"}
