"""Recorded execution logs replay decision by decision to the recorded outcome and timeline.

Each `tests/fixtures/*.jsonl` is a real log (see scripts/record_fixtures.py); its timeline
snapshot sits beside it, and a missing snapshot fails. A log whose decisions were altered
(`*.must-fail.jsonl`) must fail to replay at the altered event. Set
FLOWMAESTRO_UPDATE_SNAPSHOTS=1 to write the snapshots after an intended change.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from flowmaestro.cli.render import timeline
from flowmaestro.events import (
    ErrorInfo,
    Event,
    ExecutionCompleted,
    ExecutionFailed,
    NodeCompleted,
    NodeRetrying,
    NodeScheduled,
)
from flowmaestro.events.codec import parse_jsonl
from flowmaestro.events.replay import replay

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOGS = sorted(p for p in FIXTURES.glob("*.jsonl") if ".must-fail" not in p.name)
MUST_FAIL = sorted(FIXTURES.glob("*.must-fail.jsonl"))
# Where each altered log first departs from what `decide` produces.
DIVERGES_AT = {"branch-tampered.must-fail": 13, "branch-scheduled-early.must-fail": 8}


def _load(name: str) -> list[tuple[int, Event]]:
    with (FIXTURES / f"{name}.jsonl").open() as handle:
        return parse_jsonl(handle)


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_recorded_log_replays_to_its_outcome_and_timeline(path: Path) -> None:
    with path.open() as handle:
        result = replay(parse_jsonl(handle))
    assert result.reproduced, result.message
    assert result.diverged_at is None
    assert result.state.status.terminal
    text = "\n".join(timeline(result.state)) + "\n"
    snapshot = path.with_suffix(".timeline.txt")
    if os.environ.get("FLOWMAESTRO_UPDATE_SNAPSHOTS"):
        snapshot.write_text(text)
    assert snapshot.exists(), (
        f"{snapshot.name} is missing: write it with FLOWMAESTRO_UPDATE_SNAPSHOTS=1 and review it"
    )
    assert text == snapshot.read_text()


@pytest.mark.parametrize("path", MUST_FAIL, ids=lambda p: p.stem)
def test_altered_log_does_not_replay(path: Path) -> None:
    with path.open() as handle:
        result = replay(parse_jsonl(handle))
    assert not result.reproduced
    assert f"replay differs at seq {DIVERGES_AT[path.stem]}" in result.message
    assert result.diverged_at == DIVERGES_AT[path.stem]


def test_there_are_fixtures_of_each_kind() -> None:
    assert len(LOGS) >= 5
    assert {p.stem for p in MUST_FAIL} == set(DIVERGES_AT)


def test_a_decision_recorded_twice_diverges_at_the_second() -> None:
    records = _load("branch")
    first = next(i for i, (_, e) in enumerate(records) if isinstance(e, NodeScheduled))
    seq, event = records[first]
    doubled = [*records[: first + 1], (seq + 1000, event), *records[first + 1 :]]
    result = replay(doubled)
    assert not result.reproduced
    assert result.diverged_at == seq + 1000


def test_a_retry_due_at_another_time_diverges() -> None:
    records = _load("retry")
    index = next(i for i, (_, e) in enumerate(records) if isinstance(e, NodeRetrying))
    seq, event = records[index]
    assert isinstance(event, NodeRetrying)
    later = msgspec.structs.replace(event, retry_at=event.retry_at + timedelta(seconds=5))
    result = replay([*records[:index], (seq, later), *records[index + 1 :]])
    assert not result.reproduced
    assert result.diverged_at == seq
    assert "node.retrying of node 'flaky' attempt 2" in result.message


def test_a_result_landing_before_its_scheduled_record_still_replays() -> None:
    """The scheduler appends after it decides: an executor's result may come first."""
    records = _load("branch")
    index = next(
        i
        for i, (_, e) in enumerate(records)
        if isinstance(e, NodeCompleted) and e.node_id == "check"
    )
    swapped = [*records[: index - 1], records[index], records[index - 1], *records[index + 1 :]]
    assert isinstance(swapped[index][1], NodeScheduled)
    result = replay(swapped)
    assert result.reproduced, result.message


def test_the_schedulers_poison_verdict_is_an_input_not_a_decision() -> None:
    """An execution failed because the log refused its effects still replays."""
    records = _load("branch")
    end = next(i for i, (_, e) in enumerate(records) if isinstance(e, ExecutionCompleted))
    seq, completed = records[end]
    assert isinstance(completed, ExecutionCompleted)
    error = ErrorInfo(message="the scheduler could not carry out x", kind="poison", terminal=True)
    verdict = ExecutionFailed(failed_at=completed.completed_at, error=error)
    result = replay([*records[:end], (seq, verdict)])
    assert result.reproduced, result.message
    forged = ExecutionFailed(failed_at=completed.completed_at, error=ErrorInfo(message="x"))
    assert not replay([*records[:end], (seq, forged)]).reproduced
