"""Fixtures for node tests: executors may reach the fake servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let executors reach the fake servers on 127.0.0.1."""
    monkeypatch.setenv("FLOWMAESTRO_HTTP_ALLOW", "127.0.0.1")
    yield
