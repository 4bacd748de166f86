"""Building without losing work: a draft survives a reload, a second tab gets a conflict,
publishing shows the changes and the compatibility of running executions."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Dialog, Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import (
    configure,
    draft_saved,
    drag_node,
    new_email,
    new_workflow,
    node,
    register,
    select,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_a_draft_survives_a_reload(page: Page, shot: Shot) -> None:
    await register(page, "Dora", new_email("Dora"))
    await new_workflow(page, "Drafty")
    # the first node dropped on an empty canvas stays where it was dropped
    canvas = await page.get_by_test_id("canvas").bounding_box()
    assert canvas
    await drag_node(page, "transform", 420, 260)
    await page.wait_for_timeout(300)
    box = await node(page, "transform").bounding_box()
    assert box
    assert abs(box["x"] - (canvas["x"] + 420 - 80)) < 40, (box, canvas)
    assert abs(box["y"] - (canvas["y"] + 260 - 30)) < 40, (box, canvas)
    await shot("first-node-where-dropped")

    # an invalid expression is saved in the draft, and shown in plain words
    await configure(page, "transform", {"expression": "items[price > "})
    await draft_saved(page)
    await expect(page.locator("[data-field-error=expression]")).to_contain_text(
        "The JSONata expression does not parse"
    )
    await expect(node(page, "transform").get_by_test_id("node-errors-transform")).to_be_visible()
    await shot("invalid-draft-saved")

    await page.reload()
    await expect(node(page, "transform")).to_be_visible()
    await expect(page.get_by_label("Workflow name")).to_have_value("Drafty")
    await select(page, "transform")
    await expect(page.locator("#cfg-transform-expression")).to_have_value("items[price > ")
    await expect(page.get_by_test_id("draft-status")).to_contain_text("Draft saved")
    await shot("draft-after-reload")

    # publishing refuses what does not parse, naming the node and field
    await page.locator("[data-action=publish]").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_test_id("compatibility-heading")).to_be_visible()
    await dialog.locator("[data-action=confirm-publish]").click()
    await expect(dialog.get_by_test_id("publish-problems")).to_contain_text(
        'Node "transform", expression'
    )
    await shot("publish-refused")
    await dialog.get_by_role("button", name="Cancel").click()

    await configure(page, "transform", {"expression": "items[price > 5]"})
    await draft_saved(page)
    await expect(page.locator("[data-field-error=expression]")).to_have_count(0)


async def test_a_second_tab_gets_a_conflict(page: Page, shot: Shot) -> None:
    await register(page, "Tess", new_email("Tess"))
    await new_workflow(page, "Two tabs")
    await drag_node(page, "echo", 300, 200)
    await draft_saved(page)
    url = page.url

    other = await page.context.new_page()
    await other.goto(url)
    await expect(node(other, "echo")).to_be_visible()
    await other.get_by_label("Workflow name").fill("Renamed in tab B")
    await draft_saved(other)

    # the first tab, still on the older revision, gets a conflict instead of overwriting
    await page.get_by_label("Workflow name").fill("Renamed in tab A")
    banner = page.get_by_test_id("conflict")
    await expect(banner).to_be_visible()
    await expect(page.get_by_test_id("draft-status")).to_have_attribute("data-sync", "conflict")
    await shot("conflict")

    # leaving with edits the server refused asks first: in the app, and on reload
    kinds: list[str] = []

    async def stay(dialog: Dialog) -> None:
        kinds.append(dialog.type)
        await dialog.dismiss()

    async def asked(count: int) -> None:
        for _ in range(50):
            if len(kinds) >= count:
                return
            await page.wait_for_timeout(100)

    page.on("dialog", stay)
    await page.get_by_role("link", name="Batches").click()
    await asked(1)
    await expect(page.get_by_test_id("canvas")).to_be_visible()
    await page.evaluate("() => { setTimeout(() => location.reload(), 0); }")
    await asked(2)
    page.remove_listener("dialog", stay)
    assert kinds == ["confirm", "beforeunload"], kinds
    await expect(banner).to_be_visible()

    await banner.get_by_role("button", name="Reload theirs").click()
    await expect(page.get_by_label("Workflow name")).to_have_value("Renamed in tab B")
    await expect(banner).to_have_count(0)
    await shot("reloaded-theirs")

    # now the second tab is behind: it overwrites with its own after the conflict
    await page.get_by_label("Workflow name").fill("A again")
    await draft_saved(page)
    await other.get_by_label("Workflow name").fill("B wins")
    other_banner = other.get_by_test_id("conflict")
    await expect(other_banner).to_be_visible()
    await other_banner.get_by_role("button", name="Overwrite with mine").click()
    await draft_saved(other)
    await expect(other_banner).to_have_count(0)
    await page.reload()
    await expect(page.get_by_label("Workflow name")).to_have_value("B wins")
    await shot("overwritten")
    await other.close()


async def test_publish_shows_the_compatibility_check(
    page: Page, shot: Shot, tmp_path: Path
) -> None:
    await register(page, "Pia", new_email("Pia"))
    file = tmp_path / "approval.json"
    definition = json.loads((EXAMPLES / "approval.json").read_text())
    file.write_text(json.dumps({"name": "Refunds", "definition": definition}))
    await page.locator("input[type=file]").set_input_files(str(file))
    await expect(node(page, "approve")).to_be_visible()

    # a run of version 1 waits for a person at `approve`
    await page.get_by_role("tab", name="Run").click()
    await page.locator("#run-input-amount").fill("42")
    await page.get_by_role("button", name="▶ Run").click()
    await expect(page.get_by_test_id("human-input-approve")).to_be_visible()
    workflow_id = page.url.rstrip("/").split("/")[-1]
    await page.wait_for_function(
        """async (id) => {
            const r = await fetch(`/api/workflows/${id}/compatibility`, {method: "POST",
              headers: {"Content-Type": "application/json",
                        Authorization: `Bearer ${localStorage.getItem("fm.token")}`},
              body: JSON.stringify({definition: {nodes: {}, edges: []}})});
            const body = await r.json();
            return body.data.executions.some((e) => e.verdict === "incompatible");
        }""",
        arg=workflow_id,
        polling=250,
        timeout=15_000,
    )

    # the draft changes the node the run waits on
    await configure(page, "approve", {"prompt": "Refund ${inputs.amount}, really?"})
    await draft_saved(page)
    await page.locator("[data-action=publish]").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_test_id("diff")).to_contain_text('"approve": prompt changed')
    verdict = dialog.get_by_test_id("compatibility").locator("[data-verdict]")
    await expect(verdict).to_have_count(1)
    await expect(verdict).to_have_attribute("data-verdict", "incompatible")
    await expect(verdict).to_contain_text("approve")
    await shot("compatibility-check")
    await dialog.locator("[data-action=confirm-publish]").click()
    await expect(page.get_by_role("status")).to_contain_text("Published version 2")

    # the versions dialog shows what version 2 changed
    await page.get_by_role("button", name="Versions").click()
    versions = page.get_by_role("dialog")
    await versions.locator("[data-version='2']").get_by_role("button", name="Changes").click()
    await expect(versions.get_by_test_id("diff-v2")).to_contain_text("prompt changed")
    await expect(versions.get_by_test_id("diff-v2")).to_contain_text("Approve a refund")
    await shot("version-diff")
    await versions.get_by_role("button", name="Close").click()

    # moving a node is layout: publishing it makes no version
    box = await node(page, "deny").bounding_box()
    assert box
    await page.mouse.move(box["x"] + 30, box["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 30, box["y"] + 110, steps=6)
    await page.mouse.up()
    await draft_saved(page)
    await page.locator("[data-action=publish]").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Layout only (no new version)")
    await expect(dialog.get_by_test_id("diff")).to_contain_text("Moved 1 node")
    await shot("layout-only")
    await dialog.locator("[data-action=confirm-publish]").click()
    await expect(page.get_by_role("status")).to_contain_text("Published layout; still version 2")
    await expect(page.get_by_role("button", name="Versions")).to_contain_text("v2")

    # restoring an old version over unpublished edits asks first
    await configure(page, "refund", {"output": "refunded later"})
    await draft_saved(page)
    await page.get_by_role("button", name="Versions").click()
    versions = page.get_by_role("dialog")
    asked: list[str] = []

    async def refuse(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", refuse)
    await versions.locator("[data-version='1']").get_by_role("button", name="Restore").click()
    await expect(versions).to_be_visible()
    assert asked and "unpublished changes" in asked[0]
    await versions.get_by_role("button", name="Close").click()
    await select(page, "refund")
    await expect(page.locator("#cfg-refund-output")).to_have_value("refunded later")
