"""Fake provider servers for node tests (one per session, reset before each test), each
standing for its provider's endpoint as an operator would configure it, and leave for
executors to reach fake servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowmaestro.executors.egress import ALLOW_ENV
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.cohere_server import FakeCohere
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.tool_server import FakeTools


@pytest.fixture(scope="session")
def _openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _anthropic() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _gemini() -> Iterator[FakeGemini]:
    server = FakeGemini().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _cohere() -> Iterator[FakeCohere]:
    server = FakeCohere().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _tools() -> Iterator[FakeTools]:
    server = FakeTools().start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(
    _openai: FakeOpenAI, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> FakeOpenAI:
    """The OpenAI-compatible fake, with no recorded requests or scripted replies; it plays
    the operator's OpenAI endpoint."""
    _openai.reset()
    monkeypatch.setenv("FLOWMAESTRO_OPENAI_BASE_URL", _openai.base_url)
    return _openai


@pytest.fixture
def fake_anthropic(
    _anthropic: FakeAnthropic, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> FakeAnthropic:
    """The Anthropic fake, reset; it plays the operator's Anthropic endpoint."""
    _anthropic.reset()
    monkeypatch.setenv("FLOWMAESTRO_ANTHROPIC_BASE_URL", _anthropic.url)
    return _anthropic


@pytest.fixture
def fake_gemini(
    _gemini: FakeGemini, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> FakeGemini:
    """The Gemini fake, reset; it plays the operator's Gemini endpoint."""
    _gemini.reset()
    monkeypatch.setenv("FLOWMAESTRO_GOOGLE_BASE_URL", _gemini.base_url)
    return _gemini


@pytest.fixture
def fake_cohere(
    _cohere: FakeCohere, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> FakeCohere:
    """The Cohere fake, reset; it plays the operator's Cohere endpoint."""
    _cohere.reset()
    monkeypatch.setenv("FLOWMAESTRO_COHERE_BASE_URL", _cohere.url)
    return _cohere


@pytest.fixture
def fake_tools(_tools: FakeTools, allow_loopback: None) -> FakeTools:
    """The agent tools' HTTP fake, reset."""
    _tools.reset()
    return _tools


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let executors reach the fake servers on 127.0.0.1 (every fake fixture asks for it)."""
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
    yield
