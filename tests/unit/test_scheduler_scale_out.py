"""Scale-out of the scheduler: how many processes `up` runs, and the partitioned subjects."""

from __future__ import annotations

import pytest

from flowmaestro.cli.stack import scheduler_count


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWMAESTRO_SCHEDULERS", "3")
    assert scheduler_count() == 3
    assert scheduler_count(2) == 2
    monkeypatch.delenv("FLOWMAESTRO_SCHEDULERS")
    assert scheduler_count() == 1


def test_at_least_one_scheduler() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        scheduler_count(0)


def test_partitioned_subjects_keep_the_log_readable_as_before() -> None:
    from flowmaestro.events.names import (
        SCHEDULER_PARTITIONS,
        execution_of,
        is_outcome_subject,
        partition_filters,
        partition_transform,
    )

    source, destination = partition_transform(SCHEDULER_PARTITIONS)
    assert source == "fm.exec.*.*"
    assert f"partition({SCHEDULER_PARTITIONS},1)" in destination
    for stored in ("fm.exec.abc.x.7", "fm.exec.abc.x"):
        assert execution_of(stored) == "abc"
        assert is_outcome_subject(stored)
    assert not is_outcome_subject("fm.exec.abc.e.7")
    assert partition_filters(3) == ["fm.exec.*.e.3", "fm.exec.*.x.3"]
