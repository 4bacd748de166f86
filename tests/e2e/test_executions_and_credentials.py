"""Executions everywhere and the credentials screen, end to end: integrations created,
tested, edited and deleted (secrets never shown again), picked in a node's form with the
provider's models; the inbox answering a human-input node; the executions list filtered
by workflow, status and how runs started, with cancel; the not-found page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from flowmaestro.executors.egress import ALLOW_ENV
from tests.e2e.conftest import Shot
from tests.e2e.ui import call, new_email, register, select
from tests.fakes.openai_server import MODELS, FakeOpenAI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """An OpenAI-speaking server on 127.0.0.1, which the operator lets nodes reach."""
    server = FakeOpenAI().start()
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
    yield server
    server.stop()


async def workflow(page: Page, name: str, example: str) -> str:
    definition = json.loads((EXAMPLES / f"{example}.json").read_text())
    created = await call(page, "POST", "/api/workflows", {"name": name, "definition": definition})
    return created["id"]


async def execute(page: Page, workflow_id: str, inputs: dict[str, Any]) -> str:
    started = await call(
        page, "POST", "/api/workflows/execute", {"workflow_id": workflow_id, "inputs": inputs}
    )
    return started["execution_id"]


async def test_the_credentials_screen(page: Page, shot: Shot, fake_openai: FakeOpenAI) -> None:
    await register(page, "Keys", new_email("keys"))
    await page.get_by_role("link", name="Integrations").click()
    await expect(page.get_by_text("No integrations yet")).to_be_visible()

    await page.get_by_role("button", name="New integration").click()
    form = page.get_by_role("form", name="New integration")
    await form.get_by_label("Name").fill("my openai")
    await form.get_by_label("Type").select_option("openai")
    await form.get_by_label("Base URL").fill(fake_openai.base_url)
    await form.get_by_label("API key").fill("sk-e2e-secret")
    await shot("integration-new")
    await form.get_by_role("button", name="Save").click()
    row = page.locator("[data-integration='my openai']")
    await expect(row).to_contain_text("OpenAI")
    await expect(row).to_contain_text("api_key")
    assert "sk-e2e-secret" not in await page.content()

    await row.get_by_role("button", name="Test connection").click()
    result = row.get_by_test_id("test-result")
    await expect(result).to_contain_text("connected: 3 models available")
    await expect(result).to_have_attribute("data-ok", "true")
    await shot("integration-tested")

    # edit: a wrong key, kept secret, makes the test fail; the name changes
    await row.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit my openai")
    await expect(edit.get_by_label("API key")).to_have_value("")
    await edit.get_by_label("Name").fill("openai (wrong key)")
    await edit.get_by_label("API key").fill("wrong")
    await edit.get_by_role("button", name="Save").click()
    row = page.locator("[data-integration='openai (wrong key)']")
    await row.get_by_role("button", name="Test connection").click()
    await expect(row.get_by_test_id("test-result")).to_have_attribute("data-ok", "false")
    await expect(row.get_by_test_id("test-result")).to_contain_text("(auth)")
    await shot("integration-test-failed")

    # a private address is refused by the egress policy, not fetched
    await page.get_by_role("button", name="New integration").click()
    form = page.get_by_role("form", name="New integration")
    await form.get_by_label("Name").fill("metadata")
    await form.get_by_label("Type").select_option("http")
    await form.get_by_label("Base URL").fill("http://169.254.169.254/latest/")
    await form.get_by_role("button", name="Save").click()
    private = page.locator("[data-integration='metadata']")
    await private.get_by_role("button", name="Test connection").click()
    await expect(private.get_by_test_id("test-result")).to_contain_text("(egress)")

    # put the right key back, then pick it in an LLM node with the provider's models
    await row.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit openai (wrong key)")
    await edit.get_by_label("API key").fill("sk-e2e-secret")
    await edit.get_by_role("button", name="Save").click()
    wid = await workflow(page, "chat", "llm-chat")
    await page.goto(f"/workflows/{wid}")
    await select(page, "chat")
    await page.get_by_role("tab", name="Configure").click()
    picker = page.locator("[data-field='integration_id'] select")
    await expect(picker.locator("option")).to_contain_text(["—", "openai (wrong key) (openai)"])
    await picker.select_option(label="openai (wrong key) (openai)")
    await page.locator("[data-field='model']").get_by_role("button", name="Models").click()
    status = page.locator("[data-field='model'] [data-testid$='-models-status']")
    await expect(status).to_contain_text(f"{len(MODELS)} models")
    await expect(status).to_contain_text("gpt-4o-mini")
    await shot("node-form-integration-and-models")

    await page.get_by_role("link", name="Integrations").click()
    await private.get_by_role("button", name="Delete").click()
    await private.get_by_role("button", name="Confirm delete").click()
    await expect(private).to_have_count(0)
    await shot("integration-deleted")


async def test_the_inbox_answers_a_waiting_node(page: Page, shot: Shot) -> None:
    await register(page, "Inbox", new_email("inbox"))
    wid = await workflow(page, "refunds", "approval")
    eid = await execute(page, wid, {"amount": 42})
    await page.reload()
    await expect(page.get_by_test_id("inbox-count")).to_have_text("1")
    await page.get_by_role("link", name="Inbox").click()
    item = page.get_by_test_id(f"waiting-{eid}-approve")
    await expect(item).to_contain_text("refunds")
    await expect(item).to_contain_text("Approve a refund of 42?")
    await shot("inbox-waiting")
    await item.get_by_label("Comment").fill("fine")
    await item.get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()
    await shot("inbox-empty")

    await page.goto(f"/executions/{eid}")
    await expect(page.locator(".react-flow__node").first).to_be_visible()
    await expect(page.get_by_test_id("execution-workflow")).to_contain_text("refunds · v1")
    await expect(page.get_by_test_id("execution-inputs")).to_contain_text('"amount": 42')
    await expect(page.locator("header [data-status]")).to_have_attribute("data-status", "completed")


async def test_the_executions_list_with_filters_and_cancel(page: Page, shot: Shot) -> None:
    await register(page, "Runs", new_email("runs"))
    branch = await workflow(page, "branching", "branch")
    waits = await workflow(page, "approvals", "approval")
    for amount in (1, 200):
        await execute(page, branch, {"amount": amount})
    hook = await call(
        page, "POST", "/api/triggers", {"workflow_id": branch, "name": "h", "kind": "webhook"}
    )
    await page.evaluate(
        """async (url) => fetch(url, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ amount: 7 }),
        })""",
        hook["webhook"]["url"],
    )
    waiting = await execute(page, waits, {"amount": 5})

    await page.get_by_role("link", name="Executions").click()
    table = page.get_by_test_id("executions")
    await expect(table.locator("tbody tr")).to_have_count(4)
    await expect(table.locator(f"[data-execution='{waiting}']")).to_have_attribute(
        "data-status", "running"
    )
    await shot("executions-all")

    await page.get_by_label("Started by").select_option("webhook")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table.locator("tbody tr")).to_have_attribute("data-source", "webhook")
    assert "source=webhook" in page.url
    await page.get_by_label("Started by").select_option("")
    await page.get_by_label("Workflow").select_option(label="approvals")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await shot("executions-by-workflow")

    row = table.locator(f"[data-execution='{waiting}']")
    await row.get_by_role("button", name="Cancel").click()
    await expect(row).to_have_attribute("data-status", "cancelled")
    await expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
    await page.get_by_label("Workflow").select_option("")
    await page.get_by_label("Status").select_option("cancelled")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await shot("executions-cancelled")

    # test runs (from the builder's Run tab) are listed apart
    trial = await call(page, "POST", f"/api/workflows/{branch}/test", {"inputs": {"amount": 3}})
    await page.get_by_label("Status").select_option("")
    # the filters live in the address: the box is checked once the navigation is done
    await page.get_by_label("Test runs").click()
    await expect(page.get_by_label("Test runs")).to_be_checked()
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table.locator(f"[data-execution='{trial['execution_id']}']")).to_be_visible()
    await page.get_by_label("Test runs").click()
    await expect(page.get_by_label("Test runs")).not_to_be_checked()
    await expect(table.locator("tbody tr")).to_have_count(4)

    # the cancelled run: no node left waiting or pending
    await row.get_by_role("link", name="Open").click()
    await expect(page.locator(".react-flow__node").first).to_be_visible()
    statuses = page.locator("[data-node-status]")
    await expect(page.get_by_test_id("node-approve")).to_have_attribute(
        "data-node-status", "cancelled"
    )
    texts = await statuses.evaluate_all("els => els.map(e => e.dataset.nodeStatus)")
    assert "waiting" not in texts and "pending" not in texts and "cancelled" in texts, texts
    await expect(page.get_by_test_id("execution-actions")).not_to_contain_text("Cancel")
    await shot("execution-cancelled")


async def test_not_found_pages(page: Page, shot: Shot) -> None:
    await register(page, "Lost", new_email("lost"))
    await page.goto("/executions/no-such-execution")
    await expect(page.get_by_test_id("not-found")).to_contain_text("This execution")
    await shot("not-found-execution")
    await page.goto("/workflows/no-such-workflow")
    await expect(page.get_by_test_id("not-found")).to_contain_text("This workflow")
    await page.goto("/nowhere/at/all")
    await expect(page.get_by_test_id("not-found")).to_be_visible()
    await page.get_by_role("link", name="Your workflows").click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
