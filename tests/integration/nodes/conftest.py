"""Fake provider servers for node tests (one per session, reset before each test), and
leave for executors to reach fake servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
def fake_openai(_openai: FakeOpenAI) -> FakeOpenAI:
    """The OpenAI-compatible fake, with no recorded requests or scripted replies."""
    _openai.reset()
    return _openai


@pytest.fixture
def fake_anthropic(_anthropic: FakeAnthropic) -> FakeAnthropic:
    """The Anthropic fake, reset."""
    _anthropic.reset()
    return _anthropic


@pytest.fixture
def fake_gemini(_gemini: FakeGemini) -> FakeGemini:
    """The Gemini fake, reset."""
    _gemini.reset()
    return _gemini


@pytest.fixture
def fake_cohere(_cohere: FakeCohere) -> FakeCohere:
    """The Cohere fake, reset."""
    _cohere.reset()
    return _cohere


@pytest.fixture
def fake_tools(_tools: FakeTools) -> FakeTools:
    """The agent tools' HTTP fake, reset."""
    _tools.reset()
    return _tools


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let executors reach the fake servers on 127.0.0.1."""
    monkeypatch.setenv("FLOWMAESTRO_HTTP_ALLOW", "127.0.0.1")
    yield
