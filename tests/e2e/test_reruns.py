"""Runs derived from an earlier one, in the browser: "Retry from here" on the node that
failed (the node before it is reused: the fake model is not called for it), after the
side-effect preview (an http node downstream is listed with its key); "Re-run" from the
executions list; and "Test this node" in the builder, on a recorded run's inputs and on
inputs typed in."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import call, ended, new_email, register, select
from tests.fakes.base import Reply
from tests.fakes.openai_server import FakeOpenAI


def chain(base_url: str) -> dict[str, Any]:
    def at(x: int) -> dict[str, int]:
        return {"x": x, "y": 0}

    return {
        "nodes": {
            "start": {"id": "start", "type": "input", "data": {"schema": {}}, "position": at(0)},
            "a": {
                "id": "a",
                "type": "llm",
                "data": {"base_url": base_url, "prompt": "Outline owls"},
                "position": at(250),
            },
            "b": {
                "id": "b",
                "type": "llm",
                "data": {"base_url": base_url, "prompt": "Polish ${a.output.text}"},
                "position": at(500),
            },
            "result": {
                "id": "result",
                "type": "output",
                "data": {"output": "${b.output.text}"},
                "position": at(750),
            },
        },
        "edges": [
            {"id": "1", "source": "start", "target": "a"},
            {"id": "2", "source": "a", "target": "b"},
            {"id": "3", "source": "b", "target": "result"},
        ],
    }


def prompts(model: FakeOpenAI) -> list[str]:
    return [r.json()["messages"][-1]["content"] for r in model.requests]


async def test_retry_from_a_failed_node_and_test_one_node(
    page: Page, shot: Shot, model: FakeOpenAI
) -> None:
    await register(page, "Retrier", new_email("retrier"))
    body = {"name": "chain", "definition": chain(model.base_url)}
    wid = (await call(page, "POST", "/api/workflows", body))["id"]
    model.script(Reply(text="three parts"), Reply(status=401))
    run = await call(page, "POST", "/api/workflows/execute", {"workflow_id": wid, "inputs": {}})
    original = await ended(page, run["execution_id"])
    assert original["status"] == "failed"

    await page.goto(f"/executions/{original['id']}")
    await select(page, "b")
    retry = page.get_by_role("button", name="Retry from here")
    await expect(retry).to_be_visible()
    await expect(page.get_by_role("button", name="Re-run")).to_be_visible()
    await shot("failed-run-retry-from-here")
    await retry.click()
    confirm = page.get_by_test_id("effects-confirm")
    await expect(confirm.get_by_test_id("no-effects")).to_be_visible()
    await confirm.get_by_role("button", name="Start").click()
    await expect(page).not_to_have_url(f"/executions/{original['id']}")
    await expect(page.locator("header [data-status]").first).to_have_attribute(
        "data-status", "completed", timeout=20_000
    )
    await expect(page.get_by_test_id("run-origin")).to_contain_text(original["id"][-8:])
    await shot("retried-run-completed")
    assert prompts(model)[2:] == ["Polish three parts"], "the reused node called the model"

    await page.goto(f"/workflows/{wid}")
    await select(page, "b")
    panel = page.get_by_test_id("test-node")
    source = panel.get_by_label("Inputs")
    await expect(source.locator("option", has_text=original["id"][-8:])).to_have_count(1)
    await source.select_option(original["id"])
    await panel.get_by_role("button", name="Test this node").click()
    result = page.get_by_test_id("test-node-result")
    await expect(result).to_have_attribute("data-state", "completed", timeout=20_000)
    await expect(result).to_contain_text("echo: Polish three parts")
    await shot("node-tested-on-recorded-inputs")

    await source.select_option("edit")
    await panel.get_by_label("Upstream outputs").fill('{"a": {"text": "typed by hand"}}')
    await panel.get_by_role("button", name="Test this node").click()
    await expect(result).to_contain_text("echo: Polish typed by hand", timeout=20_000)
    await shot("node-tested-on-edited-inputs")
    assert prompts(model)[3:] == ["Polish three parts", "Polish typed by hand"]


async def test_side_effects_are_confirmed_before_a_retry_and_a_rerun_from_the_list(
    page: Page, shot: Shot, model: FakeOpenAI
) -> None:
    await register(page, "Effects", new_email("effects"))
    definition = chain(model.base_url)
    hook = {"url": f"{model.url}/hook", "method": "POST", "body": "${a.output.text}"}
    definition["nodes"]["b"] = {
        "id": "b",
        "type": "http",
        "data": hook,
        "position": {"x": 500, "y": 0},
    }
    body = {"name": "notify", "definition": definition}
    wid = (await call(page, "POST", "/api/workflows", body))["id"]
    model.script(Reply(status=401))
    run = await call(page, "POST", "/api/workflows/execute", {"workflow_id": wid, "inputs": {}})
    original = await ended(page, run["execution_id"])
    assert original["status"] == "failed" and original["nodes"]["a"]["status"] == "failed"

    await page.goto(f"/executions/{original['id']}")
    await select(page, "a")
    await page.get_by_role("button", name="Retry from here").click()
    confirm = page.get_by_test_id("effects-confirm")
    effect = confirm.get_by_test_id("effects").locator("[data-node='b']")
    await expect(effect).to_contain_text("b (http)")
    await expect(effect).to_contain_text("key new-run:b:1")
    await expect(confirm.get_by_role("heading")).to_have_text("Retry from a")
    await shot("retry-effects-confirmation")
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await expect(page).to_have_url(f"/executions/{original['id']}")

    await page.get_by_role("link", name="Executions").click()
    row = page.get_by_test_id("executions").locator(f"[data-execution='{original['id']}']")
    await row.get_by_role("button", name="Re-run").click()
    await expect(confirm.get_by_test_id("effects").locator("[data-node='b']")).to_contain_text(
        "key new-run:b:1"
    )
    await shot("rerun-effects-confirmation-from-the-list")
    await confirm.get_by_role("button", name="Start").click()
    await expect(page).not_to_have_url(f"/executions/{original['id']}")
    await expect(page).to_have_url(re.compile(r"/executions/[A-Za-z0-9_-]+$"))
    await expect(page.get_by_test_id("run-origin")).to_contain_text(original["id"][-8:])
    await expect(page.get_by_test_id("run-origin")).to_contain_text("re-run of")
    await shot("rerun-started-from-the-list")
