"""A cron schedule firing every two seconds through the real stack: each fire starts one
run, a fire delivered again starts none, and a restart — of the gateway, of the engine's
scheduler, of the NATS server holding the schedule — neither repeats a run nor loses the
schedule; fires missed while it was down follow the missed-run policy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, TriggerLimits
from flowmaestro.events.names import TRIGGER_STREAM, trigger_fire_consumer
from flowmaestro.gateway.triggers.consumers import CATCH_UP
from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology
from tests.integration.gateway.test_executions import finished, workflow
from tests.integration.gateway.test_triggers import create, runs_of
from tests.support.engine import running_engine
from tests.support.gateway import User, data_of, eventually, register, running_gateway
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration

EVERY_TWO_SECONDS = "*/2 * * * * *"
GRACE = 2.0


async def fires_of(client: httpx.AsyncClient, user: User, trigger_id: str) -> list[dict[str, Any]]:
    """The trigger's latest fires, newest first."""
    got = await client.get(f"/api/triggers/{trigger_id}", headers=user.headers)
    return data_of(got)["last_fires"]


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def test_a_schedule_fires_once_per_time_across_a_gateway_restart(
    engine: Client, nats_server: EmbeddedNats
) -> None:
    settings: dict[str, Any] = {
        "projector_name": f"trg{uuid.uuid4().hex[:8]}",
        "trigger_limits": TriggerLimits(min_trigger_interval_seconds=1),
        "trigger_grace_s": GRACE,
    }
    async with fresh_database() as database:
        async with (
            running_gateway(nats_server.url, database, **settings) as url,
            httpx.AsyncClient(base_url=url, timeout=20) as client,
        ):
            user = await register(client, "Cron")
            wid = await workflow(client, user, "branch")
            body = {"workflow_id": wid, "kind": "schedule", "inputs": {"amount": 5}}
            skip = await create(
                client,
                user,
                {**body, "name": "skip", "schedule": {"cron": EVERY_TWO_SECONDS}},
            )
            once = await create(
                client,
                user,
                {
                    **body,
                    "name": "once",
                    "schedule": {"cron": EVERY_TWO_SECONDS, "missed": "run_once"},
                },
            )

            async def two_runs() -> bool:
                return len(await runs_of(client, user, skip["id"])) >= 2

            await eventually(two_runs, timeout=20, every=0.2)
            runs = await runs_of(client, user, skip["id"])
            assert {r["trigger_kind"] for r in runs} == {"schedule"}
            detail = data_of(
                await client.get(f"/api/executions/{runs[-1]['id']}", headers=user.headers)
            )
            assert detail["inputs"] == {"amount": 5}
        stopped = time.time()
        # Every fire so far is delivered again, as after a crash before acknowledgements:
        # the consumer starts over from the stream's first fire.
        await engine.jetstream().delete_consumer(
            TRIGGER_STREAM, trigger_fire_consumer(settings["projector_name"])
        )
        await asyncio.sleep(7.3)  # three or four fires wait in the stream meanwhile
        restarted = time.time()
        async with (
            running_gateway(nats_server.url, database, **settings) as url,
            httpx.AsyncClient(base_url=url, timeout=20) as client,
        ):

            async def after_restart() -> bool:
                fires = await fires_of(client, user, skip["id"])
                return any(_at(f["scheduled_at"]) > restarted + 1 for f in fires)

            await eventually(after_restart, timeout=20, every=0.2)
            for trigger in (skip, once):

                async def projected(trigger: dict[str, Any] = trigger) -> bool:
                    """Every run a fire started is in the read model (projected a moment
                    after it starts)."""
                    fires = await fires_of(client, user, trigger["id"])
                    runs = await runs_of(client, user, trigger["id"])
                    ran = {f["execution_id"] for f in fires if f["outcome"] == "started"}
                    return ran <= {r["id"] for r in runs}

                await eventually(projected, timeout=20, every=0.2)
                fires = await fires_of(client, user, trigger["id"])
                started = [f for f in fires if f["outcome"] == "started"]
                runs = await runs_of(client, user, trigger["id"])
                # one run per fire that started one, and no fire time twice
                assert len({r["id"] for r in runs}) == len(runs)
                assert len({f["scheduled_at"] for f in fires}) == len(fires)
                assert {f["execution_id"] for f in started} <= {r["id"] for r in runs}
                missed = [
                    f for f in fires if stopped + 0.5 < _at(f["scheduled_at"]) < restarted - 1.5
                ]
                assert missed, fires
                caught_up = [
                    f
                    for f in fires
                    if f["detail"] == CATCH_UP and stopped < _at(f["scheduled_at"]) < restarted
                ]
                if trigger is skip:
                    assert {f["outcome"] for f in missed} == {"skipped"}, missed
                    assert caught_up == []
                else:
                    assert len(caught_up) == 1 and caught_up[0]["outcome"] == "started", fires
                assert not any(f["outcome"] == "duplicate" for f in fires)  # recorded once

            # a schedule whose workflow is deleted stops itself at its next fire
            gone = await workflow(client, user, "branch")
            orphan = await create(
                client,
                user,
                {
                    **body,
                    "workflow_id": gone,
                    "name": "orphan",
                    "schedule": {"cron": EVERY_TWO_SECONDS},
                },
            )
            await client.delete(f"/api/workflows/{gone}", headers=user.headers)

            async def stopped_itself() -> dict[str, Any] | None:
                got = data_of(
                    await client.get(f"/api/triggers/{orphan['id']}", headers=user.headers)
                )
                return got if got["paused"] else None

            halted = await eventually(stopped_itself, timeout=10, every=0.2)
            assert halted["last_fires"][0]["outcome"] == "refused"
            assert await runs_of(client, user, orphan["id"]) == []

            paused = await client.post(f"/api/triggers/{skip['id']}/pause", headers=user.headers)
            assert data_of(paused)["next_fires"] == []
            await client.delete(f"/api/triggers/{once['id']}", headers=user.headers)
            count = len(await runs_of(client, user, skip["id"]))
            await asyncio.sleep(3.0)
            assert len(await runs_of(client, user, skip["id"])) == count  # no fire while paused


async def test_a_schedule_fires_once_per_time_across_scheduler_and_nats_restarts(
    tmp_path: Path,
) -> None:
    """The engine's scheduler is stopped and started again mid-schedule, then the NATS
    server that holds the schedule's timer: each fire time still starts at most one run,
    and every run started ends."""
    server = EmbeddedNats(tmp_path / "nats").start()
    settings: dict[str, Any] = {
        "projector_name": f"trg{uuid.uuid4().hex[:8]}",
        "trigger_limits": TriggerLimits(min_trigger_interval_seconds=1),
        "trigger_grace_s": GRACE,
    }
    try:
        nc = await connect(server.url, name="schedule-restarts")
        await ensure_topology(nc.jetstream(), CATALOGUE)
        await nc.close()
        async with contextlib.AsyncExitStack() as stack:
            database = await stack.enter_async_context(fresh_database())
            engine = await stack.enter_async_context(contextlib.AsyncExitStack())
            await engine.enter_async_context(running_engine(server.url))
            url = await stack.enter_async_context(running_gateway(server.url, database, **settings))
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=20))
            user = await register(client, "Cron")
            wid = await workflow(client, user, "branch")
            made = await create(
                client,
                user,
                {
                    "workflow_id": wid,
                    "kind": "schedule",
                    "inputs": {"amount": 5},
                    "name": "every two seconds",
                    "schedule": {"cron": EVERY_TWO_SECONDS},
                },
            )

            async def runs_after(moment: float, count: int) -> bool:
                fires = await fires_of(client, user, made["id"])
                later = [
                    f
                    for f in fires
                    if f["outcome"] == "started" and _at(f["scheduled_at"]) > moment
                ]
                return len(later) >= count

            began = time.time()
            await eventually(lambda: runs_after(began, 2), timeout=20, every=0.2)

            # the scheduler (and the executors) stop mid-schedule and come back
            await engine.aclose()
            stopped = time.time()
            await asyncio.sleep(4.5)  # fires meanwhile start runs that wait for a scheduler
            engine = await stack.enter_async_context(contextlib.AsyncExitStack())
            await engine.enter_async_context(running_engine(server.url))
            await eventually(lambda: runs_after(stopped, 3), timeout=20, every=0.2)

            # the NATS server, which holds the schedule, restarts
            server.stop()
            await asyncio.sleep(1.0)
            server.start()
            restarted = time.time()
            await eventually(lambda: runs_after(restarted + 0.5, 2), timeout=30, every=0.3)
            await client.post(f"/api/triggers/{made['id']}/pause", headers=user.headers)

            fires = await fires_of(client, user, made["id"])
            runs = await runs_of(client, user, made["id"])
            started = [f for f in fires if f["outcome"] == "started"]
            assert len({f["scheduled_at"] for f in fires}) == len(fires), fires
            assert len({r["id"] for r in runs}) == len(runs) == len(started), (runs, fires)
            assert {f["execution_id"] for f in started} == {r["id"] for r in runs}
            assert not any(f["outcome"] == "duplicate" for f in fires), fires
            times = sorted(_at(f["scheduled_at"]) for f in started)
            assert all(b - a >= 2 for a, b in itertools.pairwise(times)), times
            for run in runs:  # those started while no scheduler ran end too
                assert (await finished(client, user, run["id"]))["status"] == "completed"
            await engine.aclose()
    finally:
        server.stop()
