"""`flowmaestro replay --against`, `fork`, `rerun` and `retry` against a real nats-server
and a running engine: which nodes ran and which were completed from the record."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from flowmaestro.events import NodeCompleted
from flowmaestro.runtime import EmbeddedNats, ExecutionLog
from tests.integration.test_cli import cli

pytestmark = pytest.mark.integration


def chain(b_value: str = "${a.output}-b") -> dict[str, Any]:
    """`a → b → result`, echo nodes."""
    return {
        "nodes": {
            "a": {"id": "a", "type": "echo", "data": {"value": "A"}},
            "b": {"id": "b", "type": "echo", "data": {"value": b_value}},
            "result": {"id": "result", "type": "output", "data": {"output": "${b.output}"}},
        },
        "edges": [
            {"id": "e1", "source": "a", "target": "b"},
            {"id": "e2", "source": "b", "target": "result"},
        ],
    }


async def original(nats: EmbeddedNats, tmp_path: Path) -> str:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain()))
    code, out, err = await cli(nats, "run", str(path))
    assert code == 0, err
    return out.splitlines()[0]


async def completions(nc: Client, execution_id: str) -> dict[str, NodeCompleted]:
    return {
        e.node_id: e
        for _, e in await ExecutionLog(nc).read(execution_id)
        if isinstance(e, NodeCompleted)
    }


async def test_replay_against_a_changed_file_prints_the_plan_and_the_report(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    eid = await original(nats_server, tmp_path)
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(chain("${a.output}-changed")))
    code, out, err = await cli(nats_server, "replay", eid, "--against", str(changed), "--dry")
    assert code == 0, err
    assert out.splitlines()[:3] == ["reuse    a", "run      b, result", "changed  b"]
    assert out.splitlines()[5:] == ["effects  - (no node with external effects runs)"], (
        "a dry replay started a run"
    )

    code, out, err = await cli(nats_server, "replay", eid, "--against", str(changed))
    assert code == 0, err
    new_id = out.splitlines()[5]
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isalpha()}
    assert rows["a"].split()[1] == "same" and rows["a"].endswith("(reused)")
    assert rows["b"].split()[1] == "changed"
    assert '    replace / "A-b" → "A-changed"' in out.splitlines()
    done = await completions(engine, new_id)
    assert done["a"].reused is not None and done["a"].reused.execution_id == eid
    assert done["b"].reused is None and done["b"].output == "A-changed"


async def test_fork_with_set_rerun_and_retry(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    eid = await original(nats_server, tmp_path)
    code, out, err = await cli(nats_server, "fork", eid, "--at", "99", "--set", "a.output=1")
    assert code == 2 and "at must be 1 to" in err
    records = await ExecutionLog(engine).read(eid)
    code, out, err = await cli(
        nats_server, "fork", eid, "--at", str(len(records)), "--set", 'a.output="forked"'
    )
    assert code == 0, err
    done = await completions(engine, out.splitlines()[0])
    assert done["a"].output == "forked" and done["b"].output == "forked-b"
    assert done["b"].reused is None, "b depends on the change: it must run"

    code, out, err = await cli(nats_server, "retry", eid, "--from", "b")
    assert code == 0, err
    assert f'reused     a from {eid} → "A"' in out.splitlines()
    retried = out.splitlines()[0]
    done = await completions(engine, retried)
    assert done["a"].reused is not None and done["b"].reused is None
    code, out, err = await cli(nats_server, "replay", retried)
    assert code == 0, err  # decide reproduces every reused completion
    assert f"retry of {eid}" in out and "(reused)" in out

    code, out, err = await cli(nats_server, "rerun", eid)
    assert code == 0, err
    done = await completions(engine, out.splitlines()[0])
    assert all(d.reused is None for d in done.values()) and set(done) == {"a", "b", "result"}

    code, _, err = await cli(nats_server, "fork", eid, "--at", "2", "--set", "a=1")
    assert code == 2 and "NODE.output=JSON" in err


async def test_retry_and_fork_preview_their_side_effects_and_dry_starts_nothing(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    workflow = chain()
    workflow["nodes"]["post"] = {
        "id": "post",
        "type": "http",
        "data": {"url": "http://127.0.0.1:9/hook", "method": "POST"},  # refused: preview only
    }
    workflow["edges"].append({"id": "e3", "source": "b", "target": "post"})
    path = tmp_path / "effects.json"
    path.write_text(json.dumps(workflow))
    code, out, err = await cli(nats_server, "run", str(path))
    eid = out.splitlines()[0]
    log = ExecutionLog(engine)
    before = set(await log.execution_ids())

    code, out, err = await cli(nats_server, "retry", eid, "--from", "a", "--dry")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["reuse    -", "run      a, b, result, post"]
    (effect,) = [line for line in lines if line.startswith("effect")]
    new_id = effect.rsplit(" ", 1)[1].split(":")[0]
    assert effect == f"effect   post [http]  key {new_id}:post:1" and new_id != eid
    code, out, err = await cli(nats_server, "retry", eid, "--from", "result", "--dry")
    assert code == 0, err
    assert out.splitlines()[:2] == ["reuse    a, b", "run      result, post"]
    assert "effect   post [http]" in out, "a failed node is not reused: it runs again"
    records = await log.read(eid)
    code, out, err = await cli(nats_server, "fork", eid, "--at", str(len(records)), "--dry")
    assert code == 0, err
    assert "effect   post [http]" in out, "the refused request is not reused: it runs again"
    assert not await _derived(log, eid, before), "a dry run started an execution"

    code, out, err = await on_terminal(nats_server, "n\n", "retry", eid, "--from", "b")
    assert code == 2 and "run these again? [y/N]" in err and "not started" in err
    assert not await _derived(log, eid, before), "a refused retry started"

    code, out, err = await cli(nats_server, "retry", eid, "--from", "b")  # no terminal: no question
    started = out.splitlines()[0]
    assert f"effect   post [http]  key {started}:post:1" in err.splitlines()
    assert "[y/N]" not in err
    assert await _derived(log, eid, before) == [started]
    code, out, err = await on_terminal(nats_server, "", "retry", eid, "--from", "b", "--yes")
    assert code != 2 and "[y/N]" not in err, err
    assert len(await _derived(log, eid, before)) == 2


async def on_terminal(nats: EmbeddedNats, typed: str, *args: str) -> tuple[int, str, str]:
    """`flowmaestro ARGS` with a terminal as its standard input, on which `typed` is typed."""
    leader, follower = os.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "flowmaestro.cli.main",
            *args,
            env={**os.environ, "FLOWMAESTRO_NATS_URL": nats.url},
            stdin=follower,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        os.write(leader, typed.encode())
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _derived(log: ExecutionLog, original: str, before: set[str]) -> list[str]:
    """The executions started since `before` that derive from `original` (other tests'
    runs on the shared engine may start meanwhile)."""
    derived = []
    for execution_id in set(await log.execution_ids()) - before:
        records = await log.read(execution_id)
        started = records[0][1] if records else None
        origin = getattr(started, "origin", None)
        if origin is not None and origin.execution_id == original:
            derived.append(execution_id)
    return derived
