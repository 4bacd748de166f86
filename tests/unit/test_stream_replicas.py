"""`FLOWMAESTRO_STREAM_REPLICAS`: how many copies a cluster keeps of streams and buckets."""

from __future__ import annotations

import pytest

from flowmaestro.runtime.config import Settings
from flowmaestro.runtime.topology import exec_stream_config


def test_streams_are_replicated_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "3")
    assert exec_stream_config(Settings.from_env()).num_replicas == 3


def test_one_copy_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWMAESTRO_STREAM_REPLICAS", raising=False)
    assert exec_stream_config(Settings.from_env()).num_replicas == 1


@pytest.mark.parametrize("value", ["0", "6", "three", "-1"])
def test_an_impossible_count_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", value)
    with pytest.raises(ValueError, match="FLOWMAESTRO_STREAM_REPLICAS must be 1 to 5"):
        Settings.from_env()
