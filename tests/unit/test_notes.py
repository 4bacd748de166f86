"""Sticky notes are saved with a definition, bounded, and never reach an execution."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from flowmaestro.events import DefinitionError, ExecutionStatus, NodeScheduled
from flowmaestro.events.definition import MAX_NOTE_CHARS, MAX_NOTES
from flowmaestro.events.validate import parse_definition
from tests.unit.sim import simulate, started


def doc(notes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None) -> dict:
    return {
        "nodes": {
            "a": {"id": "a", "type": "echo", "data": {"value": 1}},
            "out": {"id": "out", "type": "output", "data": {"output": "${a.output}"}},
        },
        "edges": [{"id": "e1", "source": "a", "target": "out"}, *(edges or [])],
        "notes": notes,
    }


def codes(document: dict) -> list[tuple[str | None, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(document)
    return [(p.field, p.code) for p in info.value.problems]


def test_notes_round_trip_and_are_left_out_when_there_are_none() -> None:
    note = {"id": "note-1", "text": "Calls the *weather* API", "position": {"x": 5, "y": 6}}
    saved = msgspec.to_builtins(parse_definition(doc([note])))
    assert saved["notes"] == [{**note, "width": 220.0, "height": 140.0}]
    plain = doc([])
    del plain["notes"]
    assert "notes" not in msgspec.to_builtins(parse_definition(plain))


@pytest.mark.parametrize(
    ("notes", "field"),
    [
        ([{"id": "n", "text": "x" * (MAX_NOTE_CHARS + 1)}], "notes[0].text"),
        ([{"id": f"n{i}"} for i in range(MAX_NOTES + 1)], "notes"),
        ([{"id": "n", "type": "code", "data": {"code": "1"}}], "notes[0]"),
        ([{"id": "bad id"}], "notes[0].id"),
        ([{"id": "n", "width": 1e9}], "notes[0].width"),
    ],
)
def test_oversized_or_disguised_notes_are_refused(notes: list[dict[str, Any]], field: str) -> None:
    assert codes(doc(notes)) == [(field, "malformed")]


def test_a_note_shares_no_id_and_cannot_be_wired_or_referenced() -> None:
    assert ("notes[1].id", "duplicate_id") in codes(doc([{"id": "n"}, {"id": "n"}]))
    assert ("notes[0].id", "duplicate_id") in codes(doc([{"id": "a"}]))
    wired = doc([{"id": "n"}], [{"id": "e2", "source": "out", "target": "n"}])
    assert ("edges[1].target", "dangling_edge") in codes(wired)
    referenced = doc([{"id": "n", "text": "x"}])
    referenced["nodes"]["out"]["data"]["output"] = "${n.output}"
    assert ("data.output", "unknown_reference") in codes(referenced)


def test_notes_never_run() -> None:
    text = "${a.output} {{7*7}} __import__('os')"
    state, log = simulate(started(parse_definition(doc([{"id": "n", "text": text}]))))
    assert state.status is ExecutionStatus.COMPLETED
    assert [e.node_id for e in log if isinstance(e, NodeScheduled)] == ["a", "out"]
    assert set(state.nodes) == {"a", "out"}
