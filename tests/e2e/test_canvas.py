"""The canvas UI end to end: build, configure, save, run, watch, answer, and step back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from flowmaestro.executors.egress import ALLOW_ENV
from tests.e2e.conftest import Shot
from tests.e2e.ui import (
    call,
    configure,
    connect,
    drag_node,
    log_in,
    new_email,
    new_workflow,
    node,
    register,
    save,
    select,
)
from tests.fakes.base import Recorded, Reply, Response
from tests.fakes.openai_server import FakeOpenAI


class _SlowList(list):
    """Events that take a while to come, as a real model's tokens do."""

    def __iter__(self) -> Iterator[Any]:
        for item in super().__iter__():
            time.sleep(0.25)
            yield item


class SlowFakeOpenAI(FakeOpenAI):
    """The OpenAI-compatible fake, streaming one piece every 250 ms so a person can watch
    (and a loaded machine's browser sees the node running before its text is done)."""

    def route(self, request: Recorded, reply: Reply | None) -> Response:
        """The fake's answer, with its stream slowed down."""
        response = super().route(request, reply)
        if response.events is not None:
            response.events = _SlowList(response.events)
        return response


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible fake model server that streams its answer slowly."""
    server = SlowFakeOpenAI().start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ALLOW_ENV, "127.0.0.1")  # the operator lets nodes reach the fake
        yield server
    server.stop()


async def test_register_build_run_and_scrub(page: Page, shot: Shot, fake_llm: FakeOpenAI) -> None:
    email = new_email("Ada")
    await register(page, "Ada", email)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await log_in(page, email)
    await shot("library")

    await new_workflow(page, "Ideas")
    # input → model → if/else → two outputs, all dragged from the palette.
    model_type = "llm"
    await drag_node(page, "input", 90, 200)
    await drag_node(page, model_type, 275, 200)
    await drag_node(page, "conditional", 460, 200)
    await drag_node(page, "output", 650, 90)
    await drag_node(page, "output", 650, 330)
    await expect(page.locator(".react-flow__node")).to_have_count(5)
    await shot("dropped")
    await page.get_by_role("button", name="Fit", exact=True).click()
    await page.wait_for_timeout(500)  # let the zoom animation settle before aiming at handles
    await connect(page, "input", model_type)
    await connect(page, model_type, "conditional")
    await connect(page, "conditional", "output", handle="true")
    await connect(page, "conditional", "output-2", handle="false")
    await shot("built")
    await expect(page.locator(".react-flow__edge")).to_have_count(4)

    # The draft autosaves though the if/else has no expression yet; the server's check
    # names the node and the field while editing.
    errors = node(page, "conditional").get_by_test_id("node-errors-conditional")
    await expect(errors).to_contain_text("expression")
    await select(page, "conditional")
    # The server's own message sits under the field at fault.
    await expect(page.locator("[data-field-error=expression]")).to_contain_text("is required")
    await shot("server-validation-error")

    await configure(page, "input", {"schema": '{"topic": {"type": "string", "required": true}}'})
    await configure(
        page,
        "llm",
        {
            "provider": "openai_compatible",
            "model": "fake-model",
            "base_url": fake_llm.base_url,
            "prompt": "Tell me about ${inputs.topic}",
        },
    )
    await configure(page, "conditional", {"expression": '$contains(text, "big")'})
    # The reference autocomplete offers what is upstream; Enter picks the first match.
    await select(page, "output")
    box = page.locator("#cfg-output-output")
    await box.click()
    await box.type(f"${{{model_type}.out")
    await expect(page.get_by_role("option").first).to_contain_text(f"${{{model_type}.output}}")
    await shot("reference-autocomplete")
    await box.press("Enter")
    await expect(box).to_have_value(f"${{{model_type}.output}}")
    await configure(page, "output-2", {"output": "not big enough"})
    await page.get_by_role("button", name="Layout").click()
    await page.wait_for_timeout(400)
    await save(page)
    await shot("saved")

    # Run with an input from the inputs form; watch the right branch run and the other skip.
    await page.get_by_role("tab", name="Run").click()
    await page.locator("#run-input-topic").fill("a big idea")
    await page.get_by_role("button", name="▶ Run").click()
    # The model's tokens appear on its node while it runs.
    await expect(page.get_by_test_id("stream-llm")).to_contain_text("Tell me", timeout=15_000)
    await shot("streaming")
    await expect(node(page, "output")).to_have_attribute("data-node-status", "completed")
    await expect(node(page, "output-2")).to_have_attribute("data-node-status", "skipped")
    await expect(node(page, "conditional")).to_have_attribute("data-node-status", "completed")
    outputs = json.loads(await page.get_by_test_id("run-outputs").inner_text())
    assert outputs["output"]["text"].startswith("echo: Tell me about"), outputs
    assert "a big idea" in outputs["output"]["text"]
    await shot("run-completed")

    await select(page, model_type)
    await page.get_by_role("tab", name="Inspect").click()
    await expect(page.get_by_test_id("inspector-input")).to_contain_text("a big idea")
    await expect(page.get_by_test_id("inspector-output")).to_contain_text("a big idea")
    # Chunks are not durable: those sent before the page subscribed are not replayed, so
    # the streamed text is the end of the answer.
    streamed = await page.get_by_test_id("inspector-stream").inner_text()
    assert streamed and outputs["output"]["text"].endswith(streamed), streamed
    assert any(r.json().get("stream") for r in fake_llm.requests), "the llm did not stream"
    await shot("inspector")

    # Reopen the execution from the history and step back to an earlier event.
    await page.get_by_role("tab", name="Run").click()
    await page.locator("[data-execution]").first.click()
    await expect(page.get_by_test_id("timeline")).to_be_visible()
    await expect(node(page, "output")).to_have_attribute("data-node-status", "completed")
    await shot("execution")
    await page.get_by_test_id("timeline").fill("3")
    await expect(page.get_by_test_id("timeline-label")).to_contain_text("input completed")
    await expect(node(page, "input")).to_have_attribute("data-node-status", "completed")
    await expect(node(page, model_type)).to_have_attribute("data-node-status", "pending")
    await expect(node(page, "output-2")).to_have_attribute("data-node-status", "pending")
    await shot("scrubbed-back")
    await page.get_by_role("button", name="Next event").click()
    await expect(node(page, model_type)).to_have_attribute("data-node-status", "running")
    await shot("scrubbed-forward")


async def test_human_input_answered_in_the_form(page: Page, shot: Shot, tmp_path: Path) -> None:
    await register(page, "Grace", new_email("Grace"))
    workflow = {
        "name": "Ask a person",
        "definition": {
            "nodes": {
                "start": {
                    "id": "start",
                    "type": "input",
                    "position": {"x": 0, "y": 100},
                    "data": {"schema": {"name": {"type": "string", "required": True}}},
                },
                "ask": {
                    "id": "ask",
                    "type": "user_input",
                    "position": {"x": 260, "y": 100},
                    "data": {
                        "prompt": "Which colour for ${inputs.name}?",
                        "schema": {"colour": {"type": "string", "required": True}},
                    },
                },
                "done": {
                    "id": "done",
                    "type": "output",
                    "position": {"x": 520, "y": 100},
                    "data": {"output": "${ask.output.colour}"},
                },
            },
            "edges": [
                {"id": "e1", "source": "start", "target": "ask"},
                {"id": "e2", "source": "ask", "target": "done"},
            ],
        },
    }
    file = tmp_path / "ask.json"
    file.write_text(json.dumps(workflow))
    await page.locator("input[type=file]").set_input_files(str(file))
    await expect(node(page, "ask")).to_be_visible()
    await page.get_by_role("tab", name="Run").click()
    await page.locator("#run-input-name").fill("Grace")
    await page.get_by_role("button", name="▶ Run").click()

    form = page.get_by_test_id("human-input-ask")
    await expect(form).to_contain_text("Which colour for Grace?")
    await expect(node(page, "ask")).to_have_attribute("data-node-status", "waiting")
    await shot("waiting-for-a-person")
    await form.locator("#answer-ask-colour").fill("teal")
    await form.get_by_role("button", name="Submit answer").click()
    await expect(node(page, "done")).to_have_attribute("data-node-status", "completed")
    await expect(page.get_by_test_id("run-outputs")).to_contain_text("teal")
    await shot("answered")

    # Approval mode: the form offers Approve and Reject, and the branch follows the answer.
    await page.goto("/")
    await page.locator("input[type=file]").set_input_files(str(EXAMPLES / "approval.json"))
    await expect(node(page, "approve")).to_be_visible()
    await page.get_by_role("tab", name="Run").click()
    await page.locator("#run-input-amount").fill("42")
    await page.get_by_role("button", name="▶ Run").click()
    form = page.get_by_test_id("human-input-approve")
    await expect(form).to_contain_text("Approve a refund of 42?")
    await form.locator("#answer-approve-comment").fill("fine")
    await shot("approval-asked")
    await form.get_by_role("button", name="Approve").click()
    await expect(node(page, "refund")).to_have_attribute("data-node-status", "completed")
    await expect(node(page, "deny")).to_have_attribute("data-node-status", "skipped")
    await shot("approved")


def _waiting_workflow(seconds: float) -> dict[str, Any]:
    return {
        "name": f"Pause {seconds}s",
        "definition": {
            "nodes": {
                "pause": {"id": "pause", "type": "wait", "position": {"x": 0, "y": 0},
                          "data": {"seconds": seconds}},
                "done": {"id": "done", "type": "output", "position": {"x": 260, "y": 0},
                         "data": {"output": "${pause.output}"}},
            },
            "edges": [{"id": "e1", "source": "pause", "target": "done"}],
        },
    }  # fmt: skip


async def _import(page: Page, tmp_path: Path, workflow: dict[str, Any]) -> None:
    await page.goto("/")
    file = tmp_path / "workflow.json"
    file.write_text(json.dumps(workflow))
    await page.locator("input[type=file]").set_input_files(str(file))
    await expect(page.get_by_test_id("canvas")).to_be_visible()


async def test_live_status_survives_a_network_drop_and_cancel_stops_a_run(
    page: Page, shot: Shot, tmp_path: Path
) -> None:
    await register(page, "Linus", new_email("Linus"))
    await _import(page, tmp_path, _waiting_workflow(3))
    await page.get_by_role("tab", name="Run").click()
    await page.get_by_role("button", name="▶ Run").click()
    await expect(node(page, "pause")).to_have_attribute("data-node-status", "waiting")
    await page.context.set_offline(True)
    run = page.get_by_label("Current run")
    await expect(run).to_have_attribute("data-connection", "reconnecting")
    await shot("offline")
    await page.wait_for_timeout(1000)
    await page.context.set_offline(False)
    await expect(node(page, "done")).to_have_attribute(
        "data-node-status", "completed", timeout=20_000
    )
    await expect(run).to_have_attribute("data-connection", "ended")
    await shot("resumed-and-completed")
    # Every event arrived exactly once: the page holds as many as the server's log.
    execution_id = await page.get_by_test_id("execution-id").inner_text()
    detail = await call(page, "GET", f"/api/executions/{execution_id}")
    assert await run.get_attribute("data-events") == str(detail["event_count"]), detail

    await _import(page, tmp_path, _waiting_workflow(3600))
    await page.get_by_role("tab", name="Run").click()
    await page.get_by_role("button", name="▶ Run").click()
    await expect(node(page, "pause")).to_have_attribute("data-node-status", "waiting")
    current = page.get_by_label("Current run")
    await page.get_by_role("button", name="⏸ Pause").click()
    await expect(current.locator("[data-status=paused]")).to_be_visible()
    await shot("paused")
    await page.get_by_role("button", name="⏵ Resume").click()
    await expect(current.locator("[data-status=running]")).to_be_visible()
    await page.get_by_role("button", name="⏸ Pause").click()
    await expect(current.locator("[data-status=paused]")).to_be_visible()
    await page.get_by_role("button", name="Cancel").click()
    await expect(current).to_contain_text("cancelled")
    await shot("cancelled")
    await page.get_by_role("link", name="Audit").click()
    audit = page.get_by_test_id("audit")
    await expect(audit.locator("[data-action='execution.resumed']")).to_have_count(1)
    await expect(audit.locator("[data-action='execution.pause_requested']")).to_have_count(2)
    await expect(audit.locator("[data-action='workflow.created']")).to_have_count(2)
    await shot("audit")


async def test_versions_undo_copy_paste_export_and_dark_mode(
    page: Page, shot: Shot, tmp_path: Path
) -> None:
    await register(page, "Barbara", new_email("Barbara"))
    await _import(page, tmp_path, _waiting_workflow(1))
    nodes = page.locator(".react-flow__node")
    await expect(nodes).to_have_count(2)

    # Copy and paste a node, undo the paste, redo it; save makes version 2.
    await select(page, "pause")
    await page.keyboard.press("Control+c")
    await page.keyboard.press("Control+v")
    await expect(nodes).to_have_count(3)
    await page.keyboard.press("Control+z")
    await expect(nodes).to_have_count(2)
    await page.keyboard.press("Control+Shift+z")
    await expect(nodes).to_have_count(3)
    await page.keyboard.press("Control+s")
    await expect(page.get_by_role("status")).to_contain_text("Draft saved")
    await save(page)
    await expect(page.get_by_role("button", name="Versions")).to_contain_text("v2")

    # Delete the copy and save again (version 3), then restore version 2.
    await select(page, "wait")
    await page.keyboard.press("Delete")
    await expect(nodes).to_have_count(2)
    await save(page)
    await page.get_by_role("button", name="Versions").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.locator("[data-version]")).to_have_count(3)
    await shot("versions")
    await dialog.locator("[data-version='2']").get_by_role("button", name="Restore").click()
    await expect(nodes).to_have_count(3)
    await expect(page.get_by_role("button", name="Versions")).to_contain_text("v4")

    # Export gives back the restored definition as a JSON file.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export").click()
    download = await download_info.value
    exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
    assert exported["name"] == "Pause 1s"
    assert sorted(exported["definition"]["nodes"]) == ["done", "pause", "wait"]

    await page.keyboard.press("Shift+D")
    await expect(page.locator("html")).to_have_class("dark")
    await shot("dark-mode")
