"""The Triggers panel end to end: a schedule with its next fire times, paused; a webhook
whose request shows up among its fires; an event trigger fired by the event its panel says
how to publish; those actions in the audit view, filtered by resource."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import drag_node, new_email, new_workflow, register, request, save


async def test_schedules_and_webhooks_from_the_triggers_panel(
    page: Page, app_url: str, shot: Shot
) -> None:
    await register(page, "Trigger", new_email("trigger"))
    await new_workflow(page, "triggered")
    await drag_node(page, "echo", 240, 160)
    await save(page)
    await page.get_by_role("tab", name="Triggers").click()
    panel = page.get_by_role("tabpanel")
    await expect(panel).to_contain_text("No triggers")

    await panel.get_by_label("Name", exact=True).fill("mornings")
    await panel.get_by_label("Cron (minute hour day month weekday)").fill("0 9 * * 1-5")
    await panel.get_by_label("Time zone").fill("Europe/Paris")
    await panel.get_by_role("button", name="Add trigger").click()
    schedule = panel.locator("[data-trigger]").first
    await expect(schedule).to_contain_text("cron 0 9 * * 1-5 (Europe/Paris)")
    await expect(schedule).to_contain_text("Next:")
    await shot("triggers-schedule")
    await schedule.get_by_role("button", name="Pause").click()
    await expect(schedule).to_contain_text("paused")
    await expect(schedule).not_to_contain_text("Next:")

    await panel.get_by_role("button", name="webhook", exact=True).click()
    await panel.get_by_label("Name", exact=True).fill("hook")
    await panel.get_by_role("button", name="Add trigger").click()
    hook = panel.locator("[data-trigger]").nth(1)
    await expect(hook).to_contain_text("/api/hooks/")
    found = re.search(r"POST (\S+)", await hook.inner_text())
    assert found is not None
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(found.group(1), json={})
    assert answer.status_code == 202, answer.text
    await expect(hook).to_contain_text("started", timeout=15_000)  # the list refreshes
    await shot("triggers-webhook")

    await panel.get_by_role("button", name="event", exact=True).click()
    await panel.get_by_label("Name", exact=True).fill("orders")
    await panel.get_by_label("Subject in your namespace").fill("orders.>")
    await panel.get_by_role("button", name="Add trigger").click()
    event = panel.locator("[data-trigger]").nth(2)
    hint = event.locator("[data-publish]")
    await expect(hint).to_contain_text("/api/events/orders.example")
    published = re.search(r"POST (\S+)", await hint.inner_text())
    assert published is not None
    sent = await request(page, "POST", published.group(1), {"amount": 3})
    assert sent["status"] == 202
    await expect(event).to_contain_text("started", timeout=15_000)
    await shot("triggers-event")

    # the audit view: trigger changes and the published event, filtered by resource
    await page.get_by_role("link", name="Audit").click()
    audit = page.get_by_test_id("audit")
    await page.get_by_label("Resource type").select_option("trigger")
    await expect(audit.locator("[data-action='trigger.created']")).to_have_count(3)
    await expect(audit.locator("[data-action='trigger.paused']")).to_have_count(1)
    await expect(audit.locator("[data-action='workflow.created']")).to_have_count(0)
    await page.get_by_label("Resource type").select_option("event")
    published_row = audit.locator("[data-action='event.published']")
    await expect(published_row).to_have_count(1)
    await expect(published_row).to_contain_text("orders.example")
    await shot("audit-triggers-events")
    await page.get_by_label("Resource type").select_option("trigger")
    await audit.locator("[data-action='trigger.paused'] a").click()
    await expect(page.get_by_role("tab", name="Triggers")).to_be_visible()
