"""`flowmaestro batch` against a real gateway: progress, results file, exit codes, and the
gateway's refusals printed with the row and field at fault."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.test_batches import DOUBLE
from tests.support.gateway import PASSWORD, User, data_of, eventually
from tests.support.runs import create_workflow

pytestmark = pytest.mark.integration


async def flowmaestro(gateway_url: str, user: User, *args: str) -> tuple[int, str, str]:
    """Run the command as `user`; returns its exit code, stdout and stderr."""
    env = {
        **os.environ,
        "FLOWMAESTRO_GATEWAY_URL": gateway_url,
        "FLOWMAESTRO_EMAIL": user.email,
        "FLOWMAESTRO_PASSWORD": PASSWORD,
    }
    env.pop("FLOWMAESTRO_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "flowmaestro.cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_batch_command_runs_a_csv_and_writes_results(
    client: httpx.AsyncClient, gateway_url: str, alice: User, tmp_path: Path
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = tmp_path / "rows.csv"
    rows.write_text("n,delay\n" + "".join(f"{i},0.05\n" for i in range(8)))
    results = tmp_path / "results.csv"
    code, out, err = await flowmaestro(
        gateway_url, alice, "batch", wid, "--csv", str(rows), "--concurrency", "2",
        "--output", str(results),
    )  # fmt: skip
    assert code == 0, out + err
    assert "8 rows, 2 at once" in out and "8 completed, 0 failed" in out
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert bars and bars[-1].startswith("[" + "#" * 30 + "] 8/8")
    table = list(csv.DictReader(results.open()))
    assert [int(r["n"]) for r in table] == list(range(8))
    assert {r["status"] for r in table} == {"completed"}
    batch_id = out.split()[1].rstrip(":")
    batch = data_of(await client.get(f"/api/batches/{batch_id}", headers=alice.headers))
    assert batch["concurrency"] == 2 and batch["counts"]["completed"] == 8

    # a row that fails makes the exit code 1
    rows.write_text("n,fails\n1,0\n2,1\n")
    code, out, _ = await flowmaestro(gateway_url, alice, "batch", wid, "--csv", str(rows))
    assert code == 1 and "1 completed, 1 failed" in out


async def test_batch_command_prints_what_the_gateway_refuses(
    client: httpx.AsyncClient, gateway_url: str, alice: User, tmp_path: Path
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = tmp_path / "rows.csv"
    rows.write_text("n\n1\nseven\n")
    code, _, err = await flowmaestro(gateway_url, alice, "batch", wid, "--csv", str(rows))
    assert code == 2 and "rows[2].n: row 2, field 'n'" in err, err
    rows.write_text("n\n1\n")
    code, _, err = await flowmaestro(
        gateway_url, alice, "batch", wid, "--csv", str(rows), "--concurrency", "5000"
    )
    assert code == 2 and "FLOWMAESTRO_MAX_BATCH_CONCURRENCY" in err, err
    code, _, err = await flowmaestro(
        gateway_url, alice, "batch", "no-such-workflow", "--csv", str(rows)
    )
    assert code == 2 and "NOT_FOUND" in err
    code, _, err = await flowmaestro(
        gateway_url, alice, "batch", wid, "--csv", str(tmp_path / "missing.csv")
    )
    assert code == 2 and "missing.csv" in err


async def test_ctrl_c_cancels_the_batch(
    client: httpx.AsyncClient, gateway_url: str, alice: User, tmp_path: Path
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = tmp_path / "slow.csv"
    rows.write_text("n,delay\n" + "".join(f"{i},5\n" for i in range(6)))
    env = {
        **os.environ,
        "FLOWMAESTRO_GATEWAY_URL": gateway_url,
        "FLOWMAESTRO_EMAIL": alice.email,
        "FLOWMAESTRO_PASSWORD": PASSWORD,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "flowmaestro.cli.main", "batch", wid, "--csv", str(rows),
        "--concurrency", "2", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    batch_id = first.split()[1].rstrip(":")
    await asyncio.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 130 and f"cancelling batch {batch_id}" in err.decode()

    async def cancelled() -> dict | None:
        got = data_of(await client.get(f"/api/batches/{batch_id}", headers=alice.headers))
        return got if got["status"] == "cancelled" else None

    batch = await eventually(cancelled, timeout=30)
    assert batch["counts"]["cancelled"] == 6
