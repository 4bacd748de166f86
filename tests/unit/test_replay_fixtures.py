"""Recorded execution logs replay to the recorded outcome and to the same timeline.

Each `tests/fixtures/*.jsonl` is a real log (see scripts/record_fixtures.py); its timeline
snapshot sits beside it. A log whose recorded outcome was altered must fail to replay.
Set FLOWMAESTRO_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after an intended change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowmaestro.cli.render import timeline
from flowmaestro.events.codec import parse_jsonl
from flowmaestro.events.replay import replay

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOGS = sorted(p for p in FIXTURES.glob("*.jsonl") if ".must-fail" not in p.name)
MUST_FAIL = sorted(FIXTURES.glob("*.must-fail.jsonl"))


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_recorded_log_replays_to_its_outcome_and_timeline(path: Path) -> None:
    with path.open() as handle:
        result = replay(parse_jsonl(handle))
    assert result.reproduced, result.message
    assert result.state.status.terminal
    text = "\n".join(timeline(result.state)) + "\n"
    snapshot = path.with_suffix(".timeline.txt")
    if os.environ.get("FLOWMAESTRO_UPDATE_SNAPSHOTS") or not snapshot.exists():
        snapshot.write_text(text)
    assert text == snapshot.read_text()


@pytest.mark.parametrize("path", MUST_FAIL, ids=lambda p: p.stem)
def test_altered_log_does_not_replay(path: Path) -> None:
    with path.open() as handle:
        result = replay(parse_jsonl(handle))
    assert not result.reproduced
    assert "replay differs" in result.message


def test_there_are_fixtures_of_each_kind() -> None:
    assert len(LOGS) >= 5 and MUST_FAIL
