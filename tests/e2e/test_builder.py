"""Building in the canvas: palette search and quick-add, sticky notes, and expressions
completed and previewed from a recorded run."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import (
    draft_saved,
    new_email,
    new_workflow,
    node,
    register,
    request,
    save,
    select,
)


def workflow_id(page: Page) -> str:
    """The id of the workflow open in the builder."""
    return page.url.rstrip("/").rsplit("/", 1)[-1]


async def quick_add(page: Page, query: str) -> None:
    """Press / on the canvas, type `query`, and take the first match with Enter."""
    await page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})
    await page.keyboard.press("/")
    search = page.get_by_label("Search nodes")
    await expect(search).to_be_focused()
    await page.keyboard.type(query)
    await page.keyboard.press("Enter")


async def test_palette_search_and_quick_add(page: Page, shot: Shot) -> None:
    await register(page, "Grace", new_email("Grace"))
    await new_workflow(page, "Quick add")
    # The palette shows what each node does, from the catalogue the gateway serves.
    http = page.locator("[data-palette-type='http'] [data-palette-description]")
    await expect(http).not_to_be_empty()

    # Keyboard only: / focuses the search, the match narrows, Enter adds it.
    await page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})
    await page.keyboard.press("/")
    await page.keyboard.type("jmespath")
    await expect(page.locator("[data-palette-type]")).to_have_count(1)  # only transform
    await expect(page.locator("[data-palette-type='transform']")).to_have_attribute(
        "data-active", "true"
    )
    await shot("search")
    await page.keyboard.press("Escape")

    await quick_add(page, "input")
    await expect(node(page, "input")).to_be_visible()
    # With the input selected, the next quick-add lands after it, wired from it.
    await page.keyboard.press("/")
    await page.keyboard.type("transf")
    await expect(page.get_by_test_id("palette-hint")).to_contain_text("after input")
    await page.keyboard.press("Enter")
    await expect(node(page, "transform")).to_be_visible()
    await expect(page.locator(".react-flow__edge")).to_have_count(1)
    await page.keyboard.press("/")
    await page.keyboard.type("http")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Enter")
    await expect(page.locator(".react-flow__edge")).to_have_count(2)

    # Node cards: an icon, and a summary of the config.
    await select(page, "http")
    await page.get_by_role("tab", name="Configure").click()
    await page.locator("#cfg-http-url").fill("https://api.example.com/orders")
    await expect(page.get_by_test_id("node-summary-http")).to_have_text(
        "GET · https://api.example.com/orders"
    )
    await expect(page.get_by_test_id("node-icon-http")).to_have_text("☁")
    # The + beside the selected card starts a quick-add after it.
    await page.get_by_role("button", name="Add a node after http").click()
    await expect(page.get_by_label("Search nodes")).to_be_focused()
    await page.keyboard.type("output")
    await page.keyboard.press("Enter")
    await expect(page.locator(".react-flow__edge")).to_have_count(3)
    await select(page, "http")
    await shot("quick-added")
    await page.get_by_role("button", name="Fit", exact=True).click()
    await page.wait_for_timeout(400)  # let the zoom settle before measuring
    before = await node(page, "transform").bounding_box()
    await draft_saved(page)  # the autosaved draft's problems: transform has no expression
    errors = page.get_by_test_id("node-errors-transform")
    await expect(errors).to_contain_text("expression")
    # A problem wraps within the card's width instead of widening it over its neighbours,
    # and the card (its handles) does not move while the draft's problems come and go.
    card = await node(page, "transform").bounding_box()
    listed = await errors.bounding_box()
    assert before and card and listed, (before, card, listed)
    assert card == before, (before, card)
    assert listed["width"] <= card["width"], (card, listed)
    await shot("card-error")
    await page.locator("#cfg-http-url").click()  # leave the canvas selection as it is
    await select(page, "transform")
    await page.locator("#cfg-transform-expression").fill("$")
    await save(page)

    stored = await request(page, "GET", f"/api/workflows/{workflow_id(page)}")
    edges = {(e["source"], e["target"]) for e in stored["body"]["data"]["definition"]["edges"]}
    assert edges == {("input", "transform"), ("transform", "http"), ("http", "output")}, edges


async def test_sticky_note_saved_and_reloaded(page: Page, shot: Shot) -> None:
    await register(page, "Hedy", new_email("Hedy"))
    await new_workflow(page, "Notes")
    await quick_add(page, "echo")
    await page.get_by_role("button", name="+ Sticky note").click()
    note = page.get_by_label("Sticky note")
    await note.fill("Calls the pricing API; ${echo.output} is not resolved here")
    await page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})
    await page.keyboard.press("Shift+N")  # a second one from the keyboard, then removed
    await expect(page.get_by_label("Sticky note")).to_have_count(2)
    await page.get_by_test_id("canvas").click(position={"x": 600, "y": 700})
    await page.get_by_test_id("note-note-2").click(position={"x": 3, "y": 3})
    await page.keyboard.press("Delete")
    await expect(page.get_by_label("Sticky note")).to_have_count(1)
    # Notes sit behind nodes: the echo node stays clickable.
    await select(page, "echo")
    await expect(page.get_by_label("Configure echo")).to_be_visible()
    await shot("note")
    await save(page)

    await page.reload()
    await expect(page.get_by_label("Sticky note")).to_have_value(
        "Calls the pricing API; ${echo.output} is not resolved here"
    )
    await shot("reloaded")
    stored = (await request(page, "GET", f"/api/workflows/{workflow_id(page)}"))["body"]
    definition = stored["data"]["definition"]
    assert list(definition["nodes"]) == ["echo"], definition
    assert [n["text"] for n in definition["notes"]] == [
        "Calls the pricing API; ${echo.output} is not resolved here"
    ]

    # The server bounds notes: an oversized one is refused, naming the field.
    definition["notes"][0]["text"] = "x" * 4001
    refused = await request(
        page, "PUT", f"/api/workflows/{workflow_id(page)}", {"definition": definition}
    )
    assert refused["status"] == 400, refused
    assert "notes[0].text" in str(refused["body"]), refused

    # A note runs nowhere: the run completes with the echo node alone.
    await page.get_by_role("tab", name="Run").click()
    await page.get_by_role("button", name="▶ Run").click()
    await expect(node(page, "echo")).to_have_attribute("data-node-status", "completed")
    await expect(page.get_by_test_id("note-note")).to_be_visible()


PIPELINE = {
    "nodes": {
        "input": {
            "id": "input",
            "type": "input",
            "position": {"x": 0, "y": 0},
            "data": {"schema": {"topic": {"type": "string", "required": True}}},
        },
        "shape": {
            "id": "shape",
            "type": "transform",
            "position": {"x": 280, "y": 0},
            "data": {
                "expression": '{"title": $uppercase(topic), "lines": [{"sku": "A-1", "qty": 2}]}'
            },
        },
        "pick": {
            "id": "pick",
            "type": "transform",
            "position": {"x": 560, "y": 0},
            "data": {"expression": "title"},
        },
        "output": {
            "id": "output",
            "type": "output",
            "position": {"x": 840, "y": 0},
            "data": {"output": "${pick.output}"},
        },
    },
    "edges": [
        {"id": "e1", "source": "input", "target": "shape"},
        {"id": "e2", "source": "shape", "target": "pick"},
        {"id": "e3", "source": "pick", "target": "output"},
    ],
}


async def test_expression_completion_and_preview_from_a_recorded_run(
    page: Page, shot: Shot
) -> None:
    await register(page, "Katherine", new_email("Katherine"))
    created = await request(
        page, "POST", "/api/workflows", {"name": "Preview", "definition": PIPELINE}
    )
    assert created["status"] == 201, created
    await page.goto(f"/workflows/{created['body']['data']['id']}")
    await page.get_by_role("tab", name="Run").click()
    await page.locator("#run-input-topic").fill("tea")
    await page.get_by_role("button", name="▶ Run").click()
    await expect(node(page, "output")).to_have_attribute("data-node-status", "completed")

    # Reload: what is offered now comes from the execution API's recorded outputs.
    await page.reload()
    await select(page, "output")
    await page.get_by_role("tab", name="Configure").click()
    box = page.locator("#cfg-output-output")
    await box.fill("")
    await box.type("${shape.output.")
    options = page.locator("#cfg-output-output-refs").get_by_role("option")
    title = options.filter(has_text="${shape.output.title}")
    await expect(title).to_contain_text('string · "TEA"')
    await expect(options).to_have_count(2)  # title and lines, one level at a time
    await shot("completion")
    await title.click()
    await expect(box).to_have_value("${shape.output.title}")
    preview = page.get_by_test_id("preview-cfg-output-output")
    await expect(preview.locator("[data-preview-value]")).to_have_text("TEA")
    await box.type(" x ${nothing.output}")
    await expect(preview).to_contain_text("Not in the last run: ${nothing.output}")
    await shot("reference-preview")

    # JSONata on the input `pick` received in the run, evaluated in the browser.
    await select(page, "pick")
    expression = page.locator("#cfg-pick-expression")
    await expression.fill("$lowercase(title) & ' by ' & $string(lines[0].qty)")
    result = page.get_by_test_id("expression-result")
    await expect(result).to_have_text('"tea by 2"')
    await shot("jsonata-preview")
    await page.locator("#cfg-pick-language").select_option("jmespath")
    await expression.fill("lines[0].sku")
    await expect(result).to_have_text('"A-1"')
    # A pathological expression is cut off; the tab stays responsive.
    await page.locator("#cfg-pick-language").select_option("jsonata")
    await expression.fill('$match("' + "a" * 40 + '!", /(a+)+$/)')
    await expect(page.get_by_test_id("expression-error")).to_contain_text("took too long")
    await expression.fill("title")
    await expect(result).to_have_text('"TEA"')
    await shot("pathological-cut-off")
