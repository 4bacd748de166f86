"""`flowmaestro verify` and `flowmaestro diff` against real logs in a real nats-server:
an untouched log verifies, one tampered with as the operator could (a message deleted, a
modified copy republished) fails and names where; two runs are compared node by node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from flowmaestro.events import CATALOGUE, decode_event, encode
from flowmaestro.events.events import ExecutionCompleted
from flowmaestro.events.names import EXEC_STREAM, command_key, exec_subject
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, connect, ensure_topology
from tests.integration.test_cli import cli
from tests.support.engine import EXAMPLES, running_engine, wait_for_end

pytestmark = pytest.mark.integration


@pytest.fixture
async def own(tmp_path: Path) -> AsyncIterator[tuple[Client, EmbeddedNats]]:
    """An engine on a server of its own: tampering with its logs touches no other test's
    (the read model's tests compare every log of the shared server with its projection)."""
    server = EmbeddedNats(tmp_path / "nats").start()
    nc = await connect(server.url, name="history-test")
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        async with running_engine(server.url):
            yield nc, server
    finally:
        await nc.close()
        server.stop()


async def finished(engine: Client, nats: EmbeddedNats, amount: int) -> str:
    code, out, err = await cli(
        nats, "run", str(EXAMPLES / "branch.json"), "--input", f"amount={amount}", "--detach"
    )
    assert code == 0, err
    (execution_id,) = out.split()
    await wait_for_end(engine, execution_id)
    return execution_id


async def test_verify_passes_an_untouched_log_and_fails_a_deleted_message(
    own: tuple[Client, EmbeddedNats],
) -> None:
    engine, nats_server = own
    execution_id = await finished(engine, nats_server, 150)
    code, out, err = await cli(nats_server, "verify", execution_id)
    assert code == 0, err
    assert out.startswith("chain intact:") and "ended" in out

    entries = await ExecutionLog(engine).read_log(execution_id)
    assert any(e.stamp for e in entries), "the scheduler stamps its appends over JetStream"
    outcome = next(e for e in entries if e.kind == "x")
    await engine.jetstream().delete_msg(EXEC_STREAM, outcome.seq)
    code, out, _ = await cli(nats_server, "verify", execution_id, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    after = min(e.seq for e in entries if e.seq > outcome.seq)
    assert report["first_bad_seq"] == after, "the message where the log diverges"
    assert report["detected_at_seq"] >= after
    code, out, _ = await cli(nats_server, "verify", execution_id)
    assert code == 1 and out.startswith("chain broken: first bad seq")


async def test_verify_fails_a_modified_copy_republished_after_the_end(
    own: tuple[Client, EmbeddedNats],
) -> None:
    engine, nats_server = own
    execution_id = await finished(engine, nats_server, 150)
    entries = await ExecutionLog(engine).read_log(execution_id)
    end = next(e for e in entries if isinstance(decode_event(e.data), ExecutionCompleted))
    forged = decode_event(end.data)
    assert isinstance(forged, ExecutionCompleted)
    forged = ExecutionCompleted(completed_at=forged.completed_at, outputs={"result": "forged"})
    ack = await engine.jetstream().publish(exec_subject(execution_id), encode(forged))
    code, out, _ = await cli(nats_server, "verify", execution_id, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["first_bad_seq"] == ack.seq and report["reason"] == "a message after the end"


async def test_verify_of_an_unknown_execution(nats_server: EmbeddedNats, nc: Client) -> None:
    code, _, err = await cli(nats_server, "verify", "no-such-run")
    assert code == 4 and "no execution" in err


async def test_diff_compares_two_runs_node_by_node(
    engine: Client, nats_server: EmbeddedNats
) -> None:
    big = await finished(engine, nats_server, 150)
    small = await finished(engine, nats_server, 50)
    code, out, err = await cli(nats_server, "diff", big, big)
    assert code == 0, err
    assert "0 of" in out and "same definition" in out
    code, out, err = await cli(nats_server, "diff", big, small)
    assert code == 1, err
    assert "status completed → skipped" in out or "status skipped → completed" in out
    code, out, _ = await cli(nats_server, "diff", big, small, "--json")
    found = json.loads(out)
    assert found["a"] == big and found["b"] == small and found["changed_nodes"] >= 2
    changed = {n["node_id"] for n in found["nodes"] if n["changed"]}
    assert {"big", "small"} <= changed
    code, _, err = await cli(nats_server, "diff", big, "no-such-run")
    assert code == 4 and "no execution" in err


async def test_effects_lists_what_a_run_from_a_node_would_repeat(
    engine: Client, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    workflow = {
        "nodes": {
            "a": {"id": "a", "type": "echo", "data": {"value": 1}},
            "post": {
                "id": "post",
                "type": "http",
                "data": {"url": "https://example.invalid/x", "method": "POST"},
            },
        },
        "edges": [{"id": "e1", "source": "a", "target": "post"}],
    }
    path = tmp_path / "effects.json"
    path.write_text(json.dumps(workflow))
    code, out, err = await cli(nats_server, "run", str(path), "--detach")
    assert code == 0, err
    (execution_id,) = out.split()
    code, out, err = await cli(nats_server, "effects", execution_id, "--from", "a")
    assert code == 0, err
    assert "runs again: a, post" in out
    assert f"post [http]  key {execution_id}:post:" in out
    code, out, _ = await cli(
        nats_server, "effects", execution_id, "--from", "post", "--into", "fork-1", "--json"
    )
    preview = json.loads(out)
    assert preview["effects"][0]["idempotency_key"] == command_key("fork-1", "post", 1)
    code, _, err = await cli(nats_server, "effects", execution_id, "--from", "nope")
    assert code == 2 and "no node 'nope'" in err
