"""A replay in the browser: "Replay…" on a run's page against a newer published version
shows the plan (the model node reused, the changed HTTP node and what follows it run) and
its side effects (the HTTP request sent again, with its idempotency key), starts the
replay, and the new run's graph carries the report (same / changed) with the changed
node's output diff; the fake model is not called again."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import Shot
from tests.e2e.ui import call, ended, new_email, register, select
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.fakes.openai_server import FakeOpenAI


def outline(base_url: str, far_side: str, v: str) -> dict[str, Any]:
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
            "notify": {
                "id": "notify",
                "type": "http",
                "data": {"url": f"{far_side}/owls", "query": {"v": v}},
                "position": at(500),
            },
            "result": {
                "id": "result",
                "type": "output",
                "data": {"output": "${a.output.text} / ${notify.output.body.got}"},
                "position": at(750),
            },
        },
        "edges": [
            {"id": "1", "source": "start", "target": "a"},
            {"id": "2", "source": "a", "target": "notify"},
            {"id": "3", "source": "notify", "target": "result"},
        ],
    }


def _answer(request: Request) -> Response:
    return Response(body={"got": request.query.get("v", [""])[0]})


async def test_replay_against_a_new_version_from_the_run_page(
    page: Page, shot: Shot, model: FakeOpenAI
) -> None:
    async with FakeHttpServer(_answer) as far_side:
        await replay_from_the_run_page(page, shot, model, far_side)


async def replay_from_the_run_page(
    page: Page, shot: Shot, model: FakeOpenAI, far_side: FakeHttpServer
) -> None:
    await register(page, "Replayer", new_email("replayer"))
    v1 = outline(model.base_url, far_side.url, "1")
    wid = (await call(page, "POST", "/api/workflows", {"name": "owls", "definition": v1}))["id"]
    run = await call(page, "POST", "/api/workflows/execute", {"workflow_id": wid, "inputs": {}})
    original = await ended(page, run["execution_id"])
    assert original["status"] == "completed", original
    assert len(model.requests) == 1
    v2 = outline(model.base_url, far_side.url, "2")
    updated = await call(page, "PUT", f"/api/workflows/{wid}", {"definition": v2})
    assert updated["version"] == 2

    await page.goto(f"/executions/{original['id']}")
    await page.get_by_role("button", name="Replay…").click()
    dialog = page.get_by_test_id("replay-dialog")
    await dialog.get_by_label("Against").select_option("2")
    await dialog.get_by_role("button", name="Show plan").click()
    await expect(dialog.get_by_test_id("plan-reuse")).to_have_text("Reused: start, a")
    await expect(dialog.get_by_test_id("plan-run")).to_have_text("Run: notify, result")
    await expect(dialog.get_by_test_id("plan-changed")).to_have_text("Changed: notify")
    await expect(dialog.get_by_test_id("plan-removed")).to_contain_text("none")
    effects = dialog.get_by_test_id("replay-effects")
    await expect(effects).to_contain_text("notify (http) runs again with key <new run>:notify:1")
    await shot("replay-plan")
    assert len(model.requests) == 1, "a dry replay called the model"
    assert len(far_side.requests) == 1, "a dry replay sent the request"

    await dialog.get_by_role("button", name="Replay", exact=True).click()
    await expect(page).not_to_have_url(f"/executions/{original['id']}")
    await expect(page.locator("header [data-status]").first).to_have_attribute(
        "data-status", "completed", timeout=20_000
    )
    await expect(page.get_by_test_id("run-origin")).to_contain_text(original["id"][-8:])
    replayed = page.url.rsplit("/", 1)[-1]
    for node_id, verdict in [
        ("start", "same"),
        ("a", "same"),
        ("notify", "changed"),
        ("result", "changed"),
    ]:
        badge = page.get_by_test_id(f"node-verdict-{node_id}")
        await expect(badge).to_have_attribute("data-verdict", verdict)
    await select(page, "result")
    diff = page.get_by_test_id("report-diff")
    await expect(diff).to_contain_text('"echo: Outline owls / 1" → "echo: Outline owls / 2"')
    await shot("replay-report-on-graph")
    await select(page, "notify")
    await expect(diff).to_contain_text('replace /body/got "1" → "2"')
    assert len(model.requests) == 1, "the reused model node called the model again"
    assert [r.query["v"] for r in far_side.requests] == [["1"], ["2"]]
    assert far_side.requests[1].headers["idempotency-key"] == f"{replayed}:notify:1"
