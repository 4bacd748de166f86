"""The batch view end to end: from the workflow's canvas to its batches, a CSV run with
live progress, a bad CSV's row and field shown, the rows linked to their runs, and a
results download."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import call, new_email, register

DEFINITION = {
    "nodes": {
        "in": {
            "id": "in",
            "type": "input",
            "data": {"schema": {"n": {"type": "integer", "required": True}}},
            "position": {"x": 0, "y": 0},
        },
        "twice": {
            "id": "twice",
            "type": "transform",
            "data": {"expression": "n * 2", "input": {"n": "${inputs.n}"}},
            "position": {"x": 250, "y": 0},
        },
        "out": {
            "id": "out",
            "type": "output",
            "data": {"output": "${twice.output}"},
            "position": {"x": 500, "y": 0},
        },
    },
    "edges": [
        {"id": "1", "source": "in", "target": "twice"},
        {"id": "2", "source": "twice", "target": "out"},
    ],
}


async def test_a_csv_batch_from_the_canvas(page: Page, shot: Shot, tmp_path: Path) -> None:
    await register(page, "Batcher", new_email("batcher"))
    created = (
        await call(page, "POST", "/api/workflows", {"name": "doubler", "definition": DEFINITION})
    )["id"]
    await page.goto(f"/workflows/{created}")
    await page.get_by_role("link", name="Batches").click()
    await expect(page.get_by_test_id("batch-form")).to_be_visible()

    bad = tmp_path / "bad.csv"
    bad.write_text("n\n1\ntwo\n")
    await page.get_by_label("CSV file").set_input_files(str(bad))
    await page.get_by_role("button", name="Run batch").click()
    await expect(page.get_by_role("alert")).to_contain_text("rows[2].n")
    await shot("bad-csv")

    rows = tmp_path / "rows.csv"
    rows.write_text("n\n" + "".join(f"{i}\n" for i in range(6)))
    await page.get_by_label("CSV file").set_input_files(str(rows))
    await expect(page.get_by_text("inputs: n")).to_be_visible()
    await page.get_by_label("Concurrency").fill("2")
    await page.get_by_role("button", name="Run batch").click()
    batches = page.get_by_test_id("batches")
    await expect(batches.locator("tbody tr")).to_have_count(1)
    await batches.locator("tbody a").first.click()

    await expect(page.get_by_test_id("batch-summary")).to_contain_text("6/6 ended")
    await expect(page.get_by_test_id("batch-summary")).to_contain_text("6 completed")
    table = page.get_by_test_id("batch-rows")
    await expect(table.locator('tr[data-status="completed"]')).to_have_count(6)
    await expect(table.locator("tbody tr").nth(3)).to_contain_text('{"out":6}')
    await shot("batch-done")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download JSON Lines").click()
    download = await download_info.value
    saved = tmp_path / "results.jsonl"
    await download.save_as(saved)
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [line["outputs"] for line in lines] == [{"out": 2 * i} for i in range(6)]

    await table.locator("tbody a").first.click()
    await expect(page).to_have_url(re.compile(r"/executions/"))
