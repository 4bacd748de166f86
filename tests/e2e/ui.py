"""What a person does in the UI, as small steps for the end-to-end tests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from playwright.async_api import Locator, Page, expect

PASSWORD = "e2e-passw0rd!"


def new_email(name: str) -> str:
    """A unique address for a new account."""
    return f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"


async def register(page: Page, name: str, email: str, password: str = PASSWORD) -> None:
    """Create an account through the register page; lands on the library."""
    response = await page.goto("/register")
    assert response is not None and response.status == 200, "deep links load the app"
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login page; lands on the library."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()


async def new_workflow(page: Page, name: str) -> None:
    """Create a workflow from the library and rename it in the builder."""
    await page.get_by_role("button", name="New workflow").click()
    await expect(page.get_by_test_id("canvas")).to_be_visible()
    await page.get_by_label("Workflow name").fill(name)


async def drag_node(page: Page, node_type: str, x: int, y: int) -> None:
    """Drag a node type from the palette onto the canvas at (x, y) within it."""
    await page.locator(f"[data-palette-type='{node_type}']").drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y}
    )


def node(page: Page, node_id: str) -> Locator:
    """The canvas node with this id."""
    return page.get_by_test_id(f"node-{node_id}")


async def connect(page: Page, source: str, target: str, handle: str | None = None) -> None:
    """Draw an edge from `source` (its `handle`, for branching nodes) to `target`."""
    out = node(page, source).locator(
        f"[data-handle='{handle}']" if handle else ".react-flow__handle.source"
    )
    into = node(page, target).locator(".react-flow__handle.target")
    a = await out.bounding_box()
    b = await into.bounding_box()
    assert a and b, "handles are not on screen"
    await page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
    await page.mouse.up()


async def select(page: Page, node_id: str) -> None:
    """Click a node to select it (opening its config)."""
    await node(page, node_id).click(position={"x": 20, "y": 12})


async def configure(page: Page, node_id: str, fields: dict[str, Any]) -> None:
    """Select a node and fill its config form: field name → text."""
    await select(page, node_id)
    await page.get_by_role("tab", name="Configure").click()
    for field, text in fields.items():
        box = page.locator(f"#cfg-{node_id}-{field}")
        if await box.evaluate("e => e.tagName") == "SELECT":
            await box.select_option(str(text))
        else:
            await box.fill(str(text))
        await box.press("Escape")


async def save(page: Page) -> None:
    """Publish the draft (a new version) through the publish dialog and wait for the
    confirmation."""
    await page.locator("[data-action=publish]").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_test_id("compatibility-heading")).to_be_visible()
    await dialog.locator("[data-action=confirm-publish]").click()
    await expect(page.get_by_role("status")).to_contain_text("Published")


async def draft_saved(page: Page) -> None:
    """Wait until the editor's draft has reached the server."""
    await expect(page.get_by_test_id("draft-status")).to_have_attribute("data-sync", "saved")


async def request(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The API as the signed-in user (the page's token): `{status, body}`."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const response = await fetch(path, {
                method,
                headers: {
                    "Content-Type": "application/json",
                    Authorization: `Bearer ${localStorage.getItem("fm.token")}`,
                },
                body: body === null ? undefined : JSON.stringify(body),
            });
            return { status: response.status, body: await response.json() };
        }""",
        [method, path, body],
    )


async def call(page: Page, method: str, path: str, body: Any = None) -> Any:
    """The API as the signed-in user, answering success; returns the envelope's data."""
    answer = await request(page, method, path, body)
    assert answer["status"] < 300, answer
    return answer["body"]["data"]


async def ended(page: Page, execution_id: str) -> dict[str, Any]:
    """The execution once it has ended (within 20 s)."""
    async with asyncio.timeout(20):
        while True:
            detail = await call(page, "GET", f"/api/executions/{execution_id}")
            if detail["status"] in ("completed", "failed", "cancelled"):
                return detail
            await asyncio.sleep(0.2)
