"""Runtime settings from the environment, within their bounds."""

from __future__ import annotations

import pytest

from flowmaestro.runtime.config import MAX_EXECUTOR_CONCURRENCY, Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 1024), ("300", 300), ("0", 1), ("99999999", MAX_EXECUTOR_CONCURRENCY)],
)
def test_executor_concurrency_is_bounded(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv("FLOWMAESTRO_EXECUTOR_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("FLOWMAESTRO_EXECUTOR_CONCURRENCY", value)
    assert Settings.from_env().executor_concurrency == expected
