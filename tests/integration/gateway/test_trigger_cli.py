"""`flowmaestro triggers list|create|pause|resume|delete|publish` against the gateway's
API."""

from __future__ import annotations

import asyncio
import contextlib
import io

import httpx
import pytest

from flowmaestro.cli.main import main
from tests.integration.gateway.test_executions import workflow
from tests.support.gateway import User, data_of, eventually

pytestmark = pytest.mark.integration


async def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(list(argv))

    code = await asyncio.to_thread(call)  # the gateway answers on this test's loop
    return code, out.getvalue(), err.getvalue()


async def test_the_cli_manages_triggers(
    client: httpx.AsyncClient, gateway_url: str, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWMAESTRO_TOKEN", alice.token)
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_URL", gateway_url)
    wid = await workflow(client, alice, "branch")
    code, out, _ = await _cli(
        "triggers", "create", wid, "--name", "nightly", "--cron", "0 2 * * *",
        "--timezone", "Europe/Paris", "--input", "amount=5",
    )  # fmt: skip
    assert code == 0, out
    schedule_id = out.splitlines()[0]
    assert out.count("next: ") == 3
    code, out, _ = await _cli("triggers", "create", wid, "--name", "hook", "--webhook", "--sync")
    assert code == 0 and f"{gateway_url}/api/hooks/" in out
    hook_url = out.splitlines()[1]
    answered = data_of(await client.post(hook_url, json={"amount": 9}), 200)
    assert answered["status"] == "completed"

    code, out, _ = await _cli("triggers", "list", "--workflow", wid)
    assert code == 0 and schedule_id in out and "0 2 * * * (Europe/Paris)" in out
    assert "completed" not in out and " started" in out  # the hook's last fire
    assert await _cli("triggers", "pause", schedule_id) == (0, f"{schedule_id} paused\n", "")
    assert await _cli("triggers", "resume", schedule_id) == (0, f"{schedule_id} active\n", "")
    assert (await _cli("triggers", "delete", schedule_id))[0] == 0
    code, _, err = await _cli("triggers", "pause", schedule_id)
    assert code == 1 and "NOT_FOUND" in err
    code, _, err = await _cli("triggers", "create", wid, "--name", "x", "--cron", "* * * * * *")
    assert code == 1 and "over_limit" in err
    code, out, _ = await _cli("triggers", "create", wid, "--name", "orders", "--event", "orders.*")
    assert code == 0, out
    event_id = out.splitlines()[0]
    code, out, _ = await _cli("triggers", "publish", "orders.created", "--input", "amount=12")
    assert code == 0 and out.startswith("published orders.created #"), out

    async def started() -> list[dict] | None:
        listed = await client.get(
            "/api/executions", params={"trigger_id": event_id}, headers=alice.headers
        )
        return data_of(listed)["executions"] or None

    run = (await eventually(started))[0]
    detail = data_of(await client.get(f"/api/executions/{run['id']}", headers=alice.headers))
    assert detail["inputs"] == {"amount": 12} and detail["trigger_kind"] == "event"
    code, _, err = await _cli("triggers", "publish", "orders.*")
    assert code == 1 and "VALIDATION_ERROR" in err
    monkeypatch.delenv("FLOWMAESTRO_TOKEN")
    code, _, err = await _cli("triggers", "list")
    assert code == 2 and "FLOWMAESTRO_TOKEN" in err
