"""The `flowmaestro` command against a real nats-server and a running engine."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import Actor
from flowmaestro.runtime import EmbeddedNats
from tests.support.engine import EXAMPLES, wait_for_end, wait_for_waiting

pytestmark = pytest.mark.integration


async def cli(
    nats: EmbeddedNats, *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run `flowmaestro ARGS` in a subprocess; return (exit code, stdout, stderr)."""
    env = {**os.environ, "FLOWMAESTRO_NATS_URL": nats.url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "flowmaestro.cli.main",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_run_prints_id_progress_and_outputs(
    engine: Client, nats_server: EmbeddedNats
) -> None:
    code, out, err = await cli(
        nats_server, "run", str(EXAMPLES / "branch.json"), "--input", "amount=150"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines[0]) == 26
    assert any(line.startswith("completed  big") for line in lines)
    assert any(line.startswith("skipped    small") for line in lines)
    outputs = out.split("execution completed\n", 1)[1]
    assert json.loads(outputs) == {"result": "large order of 150"}


async def test_run_with_inputs_over_the_servers_limit_says_so(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"amount": 1, "padding": "p" * 1_100_000}))
    code, _, err = await cli(
        nats_server, "run", str(EXAMPLES / "branch.json"), "--inputs", str(inputs)
    )
    assert code == 2
    assert "over the server's limit of 1048576 bytes" in err and "Traceback" not in err


async def test_run_with_an_inputs_file_and_detach(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"tier": "silver"}))
    code, out, _ = await cli(
        nats_server, "run", str(EXAMPLES / "switch.json"), "--inputs", str(inputs), "--detach"
    )
    assert code == 0
    (execution_id,) = out.split()
    state, _ = await wait_for_end(engine, execution_id)
    assert state.outputs == {"silver": "10% off"}


async def test_run_exits_non_zero_on_failure_and_bad_input(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    failing = tmp_path / "fail.json"
    failing.write_text(
        json.dumps(
            {
                "nodes": {
                    "x": {
                        "id": "x",
                        "type": "echo",
                        "data": {"fail_first_attempts": 5, "retry": {"max_attempts": 1}},
                    }
                },
                "edges": [],
            }
        )
    )
    code, out, _ = await cli(nats_server, "run", str(failing))
    assert code == 1 and "execution failed at x" in out
    code, _, err = await cli(
        nats_server, "run", str(EXAMPLES / "branch.json"), "--input", "amount=lots"
    )
    assert code == 2 and "amount" in err
    code, _, err = await cli(nats_server, "run", str(EXAMPLES / "branch.json"))
    assert code == 2 and "inputs.amount" in err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"nodes": {"a": {"id": "a", "type": "nope"}}, "edges": []}))
    code, _, err = await cli(nats_server, "run", str(broken))
    assert code == 2 and "a.type: unknown node type 'nope'" in err


async def test_export_then_replay_from_file_and_from_the_log(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    code, out, _ = await cli(nats_server, "run", str(EXAMPLES / "retry.json"))
    assert code == 0
    execution_id = out.splitlines()[0]
    code, exported, _ = await cli(nats_server, "export", execution_id)
    assert code == 0
    records = [json.loads(line) for line in exported.splitlines()]
    assert records[0]["type"] == "execution.started" and records[0]["seq"] >= 1
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    assert {(r["node_id"], r["attempt"]) for r in records if r["type"] == "node.failed"} == {
        ("flaky", 1),
        ("flaky", 2),
    }
    log_file = tmp_path / "run.jsonl"
    log_file.write_text(exported)
    for args in (("replay", "--file", str(log_file)), ("replay", execution_id)):
        code, out, err = await cli(nats_server, *args)
        assert code == 0, err
        assert "replay reproduces every decision and the recorded outcome: completed" in out
        flaky = next(line for line in out.splitlines() if line.startswith("flaky"))
        assert "completed" in flaky and " 3 " in flaky


async def test_replay_detects_a_tampered_log_and_bad_lines(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    code, out, _ = await cli(
        nats_server, "run", str(EXAMPLES / "switch.json"), "--input", "tier=gold"
    )
    _, exported, _ = await cli(nats_server, "export", out.splitlines()[0])
    records = [json.loads(line) for line in exported.splitlines()]
    records[-1]["outputs"] = {"gold": "100% off"}
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(json.dumps(r) for r in records))
    code, out, _ = await cli(nats_server, "replay", "--file", str(tampered))
    assert code == 1 and "replay differs" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(exported.splitlines()[0] + "\n{not json\n")
    code, _, err = await cli(nats_server, "replay", "--file", str(bad))
    assert code == 2 and "line 2" in err
    bad.write_text(exported.splitlines()[0] + '\n{"seq": 9, "type": "node.exploded"}\n')
    code, _, err = await cli(nats_server, "replay", "--file", str(bad))
    assert code == 2 and "line 2" in err


async def test_cancel_input_and_executions(engine: Client, nats_server: EmbeddedNats) -> None:
    code, out, _ = await cli(nats_server, "run", str(EXAMPLES / "cancel.json"), "--detach")
    waiting_id = out.strip()
    await wait_for_waiting(engine, waiting_id, "pause")
    code, out, _ = await cli(nats_server, "executions", "--limit", "50")
    assert {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}[
        waiting_id
    ] == "running"
    code, out, _ = await cli(nats_server, "cancel", waiting_id, "--reason", "enough")
    assert code == 0
    state, _ = await wait_for_end(engine, waiting_id)
    assert state.status == "cancelled"
    code, _, err = await cli(nats_server, "cancel", waiting_id)
    assert code == 2 and "already ended" in err

    code, out, _ = await cli(
        nats_server, "run", str(EXAMPLES / "approval.json"), "--input", "amount=12", "--detach"
    )
    approval_id = out.strip()
    await wait_for_waiting(engine, approval_id, "approve")
    code, _, err = await cli(
        nats_server, "input", approval_id, "approve", "--data", '{"comment": "ok"}'
    )
    assert code == 2 and "approved" in err
    code, _, err = await cli(
        nats_server,
        "input",
        approval_id,
        "approve",
        "--data",
        '{"approved": true, "comment": "ok"}',
    )
    assert code == 0, err
    state, _ = await wait_for_end(engine, approval_id)
    assert state.outputs == {"refund": "refunded 12"}

    code, out, _ = await cli(nats_server, "executions", "--limit", "50")
    assert code == 0
    rows = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}
    assert rows[waiting_id] == "cancelled" and rows[approval_id] == "completed"
    code, _, err = await cli(nats_server, "export", "0000000000nosuchexecution0")
    assert code == 4 and "no execution" in err


async def test_pause_resume_and_cancel_while_paused(
    engine: Client, nats_server: EmbeddedNats
) -> None:
    code, out, _ = await cli(nats_server, "run", str(EXAMPLES / "cancel.json"), "--detach")
    eid = out.strip()
    await wait_for_waiting(engine, eid, "pause")

    async def listed() -> str:
        code, out, _ = await cli(nats_server, "executions", "--limit", "50")
        assert code == 0
        return {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}[eid]

    code, out, err = await cli(nats_server, "pause", eid)
    assert code == 0 and "pause requested" in out, err
    assert await listed() == "paused"
    code, _, err = await cli(nats_server, "pause", eid)
    assert code == 2 and "not running" in err
    code, _, err = await cli(nats_server, "resume", eid)
    assert code == 0, err
    assert await listed() == "running"
    code, _, err = await cli(nats_server, "resume", eid)
    assert code == 2 and "not paused" in err
    assert (await cli(nats_server, "pause", eid))[0] == 0
    assert (await cli(nats_server, "cancel", eid))[0] == 0
    state, records = await wait_for_end(engine, eid)
    assert state.status == "cancelled"
    by = [(type(e).__name__, getattr(e, "actor", None)) for _, e in records]
    actions = [(name, actor) for name, actor in by if isinstance(actor, Actor)]
    assert [name for name, _ in actions] == [
        "ExecutionStarted",
        "ExecutionPauseRequested",
        "ExecutionResumed",
        "ExecutionPauseRequested",
        "ExecutionCancelRequested",
    ]
    assert all(actor.user_id.startswith("local:") for _, actor in actions)
    code, _, err = await cli(nats_server, "pause", "0000000000nosuchexecution0")
    assert code == 4 and "no execution" in err
