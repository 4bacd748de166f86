"""The compare view end to end: from one run's page to the comparison with another run of
the same workflow, node by node, with each run's log checked."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.test_batches import DEFINITION
from tests.e2e.ui import call, ended, new_email, register


async def completed_run(page: Page, workflow_id: str, n: int) -> str:
    started = await call(
        page, "POST", "/api/workflows/execute", {"workflow_id": workflow_id, "inputs": {"n": n}}
    )
    execution_id = started["execution_id"]
    assert (await ended(page, execution_id))["status"] == "completed", execution_id
    return execution_id


async def test_two_runs_compared_from_the_execution_page(page: Page, shot: Shot) -> None:
    await register(page, "Comparer", new_email("comparer"))
    created = await call(
        page, "POST", "/api/workflows", {"name": "doubler", "definition": DEFINITION}
    )
    first = await completed_run(page, created["id"], 2)
    second = await completed_run(page, created["id"], 5)

    await page.goto(f"/executions/{first}")
    await page.get_by_role("link", name="Compare").click()
    await expect(page.get_by_test_id(f"chain-{first}")).to_contain_text("log intact")
    await page.get_by_label("Run to compare with").select_option(second)
    await expect(page.get_by_test_id("compare-count")).to_have_text("3 of 3 nodes differ")
    await expect(page.get_by_test_id(f"chain-{second}")).to_contain_text("log intact")
    twice = page.locator('[data-node="twice"]')
    await expect(twice).to_have_attribute("data-changed", "true")
    await expect(twice).to_contain_text("~ /: 4 → 10")
    await expect(page.locator('[data-node="in"]')).to_contain_text("~ /n: 2 → 5")
    await shot("compare")
    await expect(page.get_by_test_id("compare-summary")).to_contain_text("completed")
    await page.get_by_label("only what differs").check()
    await expect(page.get_by_test_id("compare-nodes").locator("tbody tr")).to_have_count(3)
    await page.goto(f"/executions/{first}/compare?with={first}")
    await expect(page.get_by_test_id("compare-count")).to_have_text("0 of 3 nodes differ")
    await expect(page.locator('[data-node="twice"]')).to_contain_text("same")
