"""The projection: rebuilt from scratch it is identical; PostgreSQL can stop and come back
while runs go on, with the API answering 503 meanwhile and the projector catching up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStarted, parse_definition
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, new_execution_id
from tests.integration.gateway.conftest import example
from tests.integration.gateway.test_executions import execute, finished, workflow
from tests.support.engine import wait_for_end
from tests.support.gateway import data_of, error_of, eventually, register, running_gateway
from tests.support.postgres import fresh_database, private_postgres

pytestmark = pytest.mark.integration


async def _rows(database_url: str, ids: list[str]) -> tuple[list[tuple], list[tuple]]:
    """The rows of these executions (other tests on the shared server may tamper with
    their logs on purpose: a rebuild then differs for theirs)."""
    conn = await asyncpg.connect(database_url)
    try:
        executions = await conn.fetch(
            "SELECT * FROM executions WHERE id = ANY($1) ORDER BY id", ids
        )
        logs = await conn.fetch(
            "SELECT * FROM execution_logs WHERE execution_id = ANY($1) ORDER BY execution_id, seq",
            ids,
        )
    finally:
        await conn.close()
    return [tuple(r) for r in executions], [tuple(r) for r in logs]


async def _caught_up(nc: Client, database_url: str, ids: list[str]) -> bool:
    log = ExecutionLog(nc)
    conn = await asyncpg.connect(database_url)
    try:
        projected = dict(await conn.fetch("SELECT id, last_seq FROM executions"))
    finally:
        await conn.close()
    for execution_id in ids:
        records = await log.read_raw(execution_id)
        if not records or projected.get(execution_id) != records[-1][0]:
            return False
    return True


async def test_rebuild_gives_identical_rows(
    client: httpx.AsyncClient, nats_server: EmbeddedNats, engine: Client, database_url: str
) -> None:
    user = await register(client, "Rebuilder")
    ids = []
    for name, inputs in (("branch", {"amount": 500}), ("retry", {})):
        wid = await workflow(client, user, name)
        ids.append((await execute(client, user, wid, inputs))["execution_id"])
        await finished(client, user, ids[-1])
    await eventually(lambda: _caught_up(engine, database_url, ids), timeout=20)
    before = await _rows(database_url, ids)
    assert before[0] and before[1]

    env = {**os.environ, "FLOWMAESTRO_DATABASE_URL": database_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "flowmaestro.cli.main",
            "--nats",
            nats_server.url,
            "project",
            "--rebuild",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "rebuilt the projection" in result.stdout
    await eventually(lambda: _caught_up(engine, database_url, ids), timeout=20)
    assert await _rows(database_url, ids) == before
    conn = await asyncpg.connect(database_url)
    try:
        levels = {
            r["level"]
            for r in await conn.fetch(
                "SELECT DISTINCT level FROM execution_logs WHERE execution_id = ANY($1)", ids
            )
        }
    finally:
        await conn.close()
    assert levels == {"info", "warn", "error"}  # the retry run's retries warn, failures err


async def test_postgres_outage_during_runs(nats_server: EmbeddedNats, engine: Client) -> None:
    folder = tempfile.mkdtemp(prefix="fm-pg-")
    with private_postgres(folder) as postgres:  # type: ignore[arg-type]
        async with (
            fresh_database(postgres.url) as url,
            running_gateway(nats_server.url, url, projector_name="projector-outage-test") as base,
            httpx.AsyncClient(base_url=base, timeout=20) as client,
        ):
            user = await register(client, "Outage")
            wid = await workflow(client, user, "wait")
            runs = [
                (await execute(client, user, wid, {"seconds": 1}))["execution_id"] for _ in range(2)
            ]
            await asyncio.to_thread(postgres.stop)

            started = time.monotonic()
            outage = await client.get("/api/workflows", headers=user.headers)
            assert error_of(outage, 503)["code"] == "DATABASE_UNAVAILABLE"
            assert time.monotonic() - started < 5
            error_of(await client.get(f"/api/executions/{runs[0]}", headers=user.headers), 503)
            assert (await client.get("/ready")).status_code == 503
            assert (await client.get("/health")).status_code == 200

            # a run started during the outage, straight on the log as the CLI does
            late = new_execution_id()
            await ExecutionLog(engine).start(
                ExecutionStarted(
                    execution_id=late,
                    workflow_id=wid,
                    workflow_version=1,
                    definition=parse_definition(example("wait")),
                    inputs={"seconds": 0.2},
                    started_at=datetime.now(UTC),
                    owner_id=user.id,
                )
            )
            for execution_id in [*runs, late]:
                state, _ = await wait_for_end(engine, execution_id)
                assert state.status == "completed"  # the engine never needed PostgreSQL

            await asyncio.to_thread(postgres.start)
            for execution_id in [*runs, late]:
                detail = await finished(client, user, execution_id)
                assert detail["status"] == "completed"
            listed = data_of(await client.get("/api/executions", headers=user.headers))
            assert {e["id"] for e in listed["executions"]} == {*runs, late}
            assert (await client.get("/ready")).status_code == 200
