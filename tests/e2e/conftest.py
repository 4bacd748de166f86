"""The whole stack and the UI in a real, headless Chromium.

The stack: a nats-server of its own (apart from the one the integration tests share, so
their read-model checks never see these runs), the scheduler and executors in this
process, a fresh PostgreSQL database, and the gateway serving the built UI from `ui/dist`.
Each test gets a 1280x800 page and a `shot(name)` helper that saves screenshots to a folder
the run prints.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from flowmaestro.events import CATALOGUE
from flowmaestro.executors.egress import ALLOW_ENV
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from tests.fakes.openai_server import FakeOpenAI
from tests.support.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
UI_DIST = ROOT / "ui" / "dist"
CHROMIUM = os.environ.get("FLOWMAESTRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e

Shot = Callable[[str], Awaitable[Path]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here as end-to-end."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


_SCREENSHOTS = Path(
    os.environ.get("FLOWMAESTRO_SCREENSHOTS")
    or ROOT / "test-artifacts" / "e2e" / time.strftime("%Y%m%d-%H%M%S")
)


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """Where screenshots go: `test-artifacts/e2e/<time>` (or FLOWMAESTRO_SCREENSHOTS)."""
    _SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\n[e2e] screenshots are saved to {_SCREENSHOTS}", flush=True)
    return _SCREENSHOTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the screenshot folder at the end of the run, whatever the output capture."""
    if _SCREENSHOTS.is_dir():
        terminalreporter.write_line(f"e2e screenshots: {_SCREENSHOTS}")


@pytest.fixture(scope="session")
async def e2e_database_url() -> AsyncIterator[str]:
    """A database of its own for the session."""
    from tests.support.postgres import fresh_database

    async with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def e2e_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A nats-server for the end-to-end tests alone, on a free port with a temporary store."""
    server = EmbeddedNats(tmp_path_factory.mktemp("e2e-nats")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def app_url(e2e_nats: EmbeddedNats, e2e_database_url: str) -> AsyncIterator[str]:
    """The gateway serving the built UI; the scheduler and executors run beside it."""
    if not (UI_DIST / "index.html").is_file():
        pytest.fail("ui/dist is missing: `./dev test` builds it (or `cd ui && npm run build`)")
    from tests.support.gateway import running_gateway

    nc = await connect(e2e_nats.url, name="e2e")
    await ensure_topology(nc.jetstream(), CATALOGUE)
    try:
        async with (
            running_engine(e2e_nats.url),
            running_gateway(e2e_nats.url, e2e_database_url, ui_dir=UI_DIST) as url,
        ):
            yield url
    finally:
        await nc.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(
    browser: Browser, app_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A fresh 1280x800 page on the app; console errors are printed when the test fails."""
    context = await browser.new_context(
        base_url=app_url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield page
    if console and getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print("\n".join(["[e2e] browser console:", *console[-40:]]))
    await context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def shot(page: Page, screenshots_dir: Path, request: pytest.FixtureRequest) -> Shot:
    """`await shot("name")` saves a numbered screenshot of the page for this test."""
    test = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)
    counter = iter(range(1, 1000))

    async def take(name: str) -> Path:
        path = screenshots_dir / f"{test}-{next(counter):02d}-{name}.png"
        await page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fake model server the executors may reach."""
    server = FakeOpenAI().start()
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
    monkeypatch.setenv("FLOWMAESTRO_OPENAI_BASE_URL", server.base_url)
    yield server
    server.stop()
