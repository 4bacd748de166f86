"""Batches over real HTTP: JSON rows and CSV uploads, the cap, progress over SSE, cancel,
results as JSON Lines and CSV, the executions filter, the audit trail, tenancy, and every
hostile input refused with an answer that names what is wrong."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from flowmaestro.events.limits import BatchLimits
from flowmaestro.runtime import EmbeddedNats
from tests.support.gateway import (
    User,
    data_of,
    error_of,
    eventually,
    running_gateway,
    sse_events,
)
from tests.support.runs import create_workflow

pytestmark = pytest.mark.integration

DOUBLE = {
    "nodes": {
        "in": {
            "id": "in",
            "type": "input",
            "data": {
                "schema": {
                    "n": {"type": "integer", "required": True},
                    "name": {"type": "string"},
                    "loud": {"type": "boolean", "default": False},
                    "delay": {"type": "number", "default": 0},
                    "fails": {"type": "integer", "default": 0},
                }
            },
        },
        "work": {
            "id": "work",
            "type": "echo",
            "data": {
                "value": "${inputs.n}",
                "delay_seconds": "${inputs.delay}",
                "fail_first_attempts": "${inputs.fails}",
                "retry": {"max_attempts": 1},
            },
        },
        "twice": {
            "id": "twice",
            "type": "transform",
            "data": {"expression": "n * 2", "input": {"n": "${work.output}"}},
        },
        "out": {"id": "out", "type": "output", "data": {"output": "${twice.output}"}},
    },
    "edges": [
        {"id": "1", "source": "in", "target": "work"},
        {"id": "2", "source": "work", "target": "twice"},
        {"id": "3", "source": "twice", "target": "out"},
    ],
}
ENDED = {"completed", "failed", "cancelled"}
ELSEWHERE = "198.51.100.7"


@pytest.fixture(scope="module")
async def small_batches_url(nats_server: EmbeddedNats, database_url: str) -> AsyncIterator[str]:
    """A second gateway on the same stack whose operator allows small batches only."""
    limits = BatchLimits(concurrency=2, rows=5, body_bytes=2048)
    async with running_gateway(
        nats_server.url, database_url, run_projector=False, batch_limits=limits
    ) as url:
        yield url


async def batch_of(
    client: httpx.AsyncClient, user: User, workflow_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Start a batch from JSON rows; returns the batch."""
    response = await client.post(
        f"/api/workflows/{workflow_id}/batch", json=body, headers=user.headers
    )
    return data_of(response, 202)


async def ended(client: httpx.AsyncClient, user: User, batch_id: str) -> dict[str, Any]:
    """Poll until the batch has ended."""

    async def probe() -> dict[str, Any] | None:
        batch = data_of(await client.get(f"/api/batches/{batch_id}", headers=user.headers))
        return batch if batch["status"] in ("completed", "cancelled") else None

    return await eventually(probe, timeout=60)


async def upload(
    client: httpx.AsyncClient,
    user: User,
    workflow_id: str,
    text: str | bytes,
    **fields: str,
) -> httpx.Response:
    """POST a CSV as the multipart field `file`."""
    content = text.encode() if isinstance(text, str) else text
    return await client.post(
        f"/api/workflows/{workflow_id}/batch",
        files={"file": ("rows.csv", content, "text/csv")},
        data=fields,
        headers=user.headers,
    )


async def test_a_json_batch_runs_every_row_under_its_cap(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = [{"n": i, "delay": 0.05} for i in range(12)]
    batch = await batch_of(client, alice, wid, {"inputs": rows, "concurrency": 3})
    assert batch["total"] == 12 and batch["concurrency"] == 3 and batch["status"] == "running"
    events, _ = await sse_events(client, f"/api/batches/{batch['id']}/events", alice.headers)
    assert events[-1]["event"] == "batch:ended"
    assert all(e["event"] == "batch:progress" for e in events[:-1]) and events[:-1]
    for event in events:
        counts = event["data"]["counts"]
        running = counts["pending"] + counts["running"]
        assert running <= 3, counts  # the cap holds at every step seen
    done = events[-1]["data"]
    assert done["status"] == "completed" and done["ended"] == 12
    assert done["counts"]["completed"] == 12

    page = data_of(await client.get(f"/api/batches/{batch['id']}/rows", headers=alice.headers))
    assert [r["row"] for r in page["rows"]] == list(range(1, 13))
    assert [r["outputs"] for r in page["rows"]] == [{"out": 2 * i} for i in range(12)]
    listed = data_of(
        await client.get(
            "/api/executions", params={"batch_id": batch["id"], "limit": 100}, headers=alice.headers
        )
    )
    assert listed["pagination"]["total"] == 12
    assert {e["id"] for e in listed["executions"]} == {r["execution_id"] for r in page["rows"]}
    assert {e["batch_id"] for e in listed["executions"]} == {batch["id"]}
    mine = data_of(
        await client.get("/api/batches", params={"workflow_id": wid}, headers=alice.headers)
    )
    assert [b["id"] for b in mine["batches"]] == [batch["id"]]


async def test_a_csv_batch_and_its_results_in_both_formats(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    text = 'n,name,loud\n1,"Smith, Jo",yes\n2,Ann,\n3,"multi\nline",false\n'
    response = await upload(client, alice, wid, text, concurrency="2")
    batch = data_of(response, 202)
    assert batch["columns"] == ["n", "name", "loud"] and batch["total"] == 3
    await ended(client, alice, batch["id"])

    lines = await client.get(
        f"/api/batches/{batch['id']}/results", params={"format": "jsonl"}, headers=alice.headers
    )
    assert lines.status_code == 200 and "ndjson" in lines.headers["content-type"]
    records = [msgspec.json.decode(line) for line in lines.text.splitlines()]
    assert [r["row"] for r in records] == [1, 2, 3]
    defaults = {"delay": 0, "fails": 0}
    assert records[0]["inputs"] == {"n": 1, "name": "Smith, Jo", "loud": True, **defaults}
    assert records[1]["inputs"] == {"n": 2, "name": "Ann", "loud": False, **defaults}
    assert records[2]["inputs"]["name"] == "multi\nline"
    assert {r["status"] for r in records} == {"completed"}
    assert [r["outputs"] for r in records] == [{"out": 2}, {"out": 4}, {"out": 6}]
    assert all(r["error"] is None for r in records)

    table = await client.get(
        f"/api/batches/{batch['id']}/results", params={"format": "csv"}, headers=alice.headers
    )
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(table.text)))
    assert list(parsed[0]) == [
        "row",
        "execution_id",
        "status",
        "n",
        "name",
        "loud",
        "outputs",
        "error",
    ]
    assert [p["status"] for p in parsed] == ["completed"] * 3
    assert parsed[0]["name"] == "Smith, Jo" and parsed[2]["name"] == "multi\nline"
    assert [msgspec.json.decode(p["outputs"]) for p in parsed] == [
        {"out": 2},
        {"out": 4},
        {"out": 6},
    ]

    raw = await client.post(
        f"/api/workflows/{wid}/batch",
        content=b"n\n7\n",
        params={"concurrency": 1},
        headers={**alice.headers, "content-type": "text/csv"},
    )
    assert data_of(raw, 202)["concurrency"] == 1


async def test_a_failing_row_is_reported_with_its_error(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = [{"n": 1}, {"n": 2, "fails": 1}]  # the second row's node fails its one attempt
    batch = await batch_of(client, alice, wid, {"inputs": rows})
    done = await ended(client, alice, batch["id"])
    assert done["counts"]["completed"] == 1 and done["counts"]["failed"] == 1
    table = await client.get(
        f"/api/batches/{batch['id']}/results", params={"format": "csv"}, headers=alice.headers
    )
    failed = list(csv.DictReader(io.StringIO(table.text)))[1]
    assert failed["status"] == "failed" and failed["error"] and failed["outputs"] == ""


async def test_cancel_stops_the_batch_and_is_audited(
    client: httpx.AsyncClient, alice: User, nats_server: EmbeddedNats, database_url: str
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    rows = [{"n": i, "delay": 5} for i in range(20)]
    batch = await batch_of(client, alice, wid, {"inputs": rows, "concurrency": 4})

    async def running() -> bool:
        got = data_of(await client.get(f"/api/batches/{batch['id']}", headers=alice.headers))
        return got["counts"]["running"] == 4

    await eventually(running)
    # the cancel comes from elsewhere, through a gateway behind a trusted proxy
    async with (
        running_gateway(
            nats_server.url, database_url, run_projector=False, trusted_proxies="127.0.0.1/32"
        ) as proxied_url,
        httpx.AsyncClient(base_url=proxied_url, timeout=20) as proxied,
    ):
        cancelled = await proxied.post(
            f"/api/batches/{batch['id']}/cancel",
            headers={**alice.headers, "X-Forwarded-For": ELSEWHERE},
        )
    assert data_of(cancelled, 202) == {"batch_id": batch["id"], "cancelled": True}
    done = await ended(client, alice, batch["id"])
    assert done["status"] == "cancelled"
    assert done["counts"]["cancelled"] == 20 and done["ended"] == 20
    rows_out = data_of(
        await client.get(
            f"/api/batches/{batch['id']}/rows", params={"limit": 100}, headers=alice.headers
        )
    )["rows"]
    listed = data_of(
        await client.get(
            "/api/executions", params={"batch_id": batch["id"], "limit": 100}, headers=alice.headers
        )
    )
    # only the four that had started ever ran; the rest never started
    assert listed["pagination"]["total"] == 4
    assert {e["status"] for e in listed["executions"]} == {"cancelled"}
    assert sum(1 for r in rows_out if r["outputs"] is None) == 20
    again = await client.post(f"/api/batches/{batch['id']}/cancel", headers=alice.headers)
    assert error_of(again, 409)["code"] == "BATCH_ENDED"

    trail = data_of(
        await client.get(
            "/api/audit",
            params={"resource_type": "batch", "resource_id": batch["id"]},
            headers=alice.headers,
        )
    )
    actions = {e["action"]: e["actor"] for e in trail["entries"]}
    assert actions == {
        "batch.started": {"user_id": alice.id, "address": "127.0.0.1"},
        "batch.cancel_requested": {"user_id": alice.id, "address": ELSEWHERE},
    }
    # each stopped run's own log names who stopped it (not who started the batch)
    for execution in listed["executions"]:
        logs = data_of(
            await client.get(f"/api/executions/{execution['id']}/logs", headers=alice.headers)
        )["logs"]
        by = {e["event"]: e["metadata"].get("actor") for e in logs}
        assert by["execution.started"] == {"user_id": alice.id, "address": "127.0.0.1"}
        assert by["execution.cancel_requested"] == {"user_id": alice.id, "address": ELSEWHERE}


async def test_another_users_batch_is_not_found(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    batch = await batch_of(client, alice, wid, {"inputs": [{"n": 1}]})
    bid = batch["id"]
    for path in ("", "/rows", "/results", "/events"):
        response = await client.get(f"/api/batches/{bid}{path}", headers=bob.headers)
        assert error_of(response, 404)["code"] == "NOT_FOUND"
    assert error_of(await client.post(f"/api/batches/{bid}/cancel", headers=bob.headers), 404)
    # nor can Bob run Alice's workflow as a batch
    response = await client.post(
        f"/api/workflows/{wid}/batch", json={"inputs": [{"n": 1}]}, headers=bob.headers
    )
    assert error_of(response, 404)["code"] == "NOT_FOUND"
    csv_upload = await upload(client, bob, wid, "n\n1\n")
    assert error_of(csv_upload, 404)["code"] == "NOT_FOUND"
    assert data_of(await client.get("/api/batches", headers=bob.headers))["batches"] == []
    await ended(client, alice, bid)
    theirs = await client.get("/api/executions", params={"batch_id": bid}, headers=bob.headers)
    assert data_of(theirs)["executions"] == []


async def test_hostile_batches_are_refused_with_clear_errors(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await create_workflow(client, alice, DOUBLE)
    path = f"/api/workflows/{wid}/batch"

    bad_cell = error_of(await upload(client, alice, wid, "n,loud\n1,yes\nx,no\n3,maybe\n"), 400)
    fields = [d["field"] for d in bad_cell["details"]]
    assert fields == ["rows[2].n", "rows[3].loud"], bad_cell
    assert "row 2, field 'n'" in bad_cell["details"][0]["message"]

    missing = error_of(
        await client.post(path, json={"inputs": [{"n": 1}, {}]}, headers=alice.headers), 400
    )
    assert missing["details"][0]["field"] == "rows[2].n"
    assert missing["details"][0]["code"] == "required"

    malformed = error_of(await upload(client, alice, wid, 'n\n"1\n'), 400)
    assert malformed["details"][0]["code"] == "malformed"
    ragged = error_of(await upload(client, alice, wid, "n,name\n1\n"), 400)
    assert ragged["details"][0]["field"] == "rows[1]"
    assert error_of(await upload(client, alice, wid, ""), 400)["details"][0]["code"] == "no_header"
    assert error_of(await upload(client, alice, wid, "n\n"), 400)["details"][0]["code"] == "empty"
    duplicated = error_of(await upload(client, alice, wid, "n,n\n1,2\n"), 400)
    assert duplicated["details"][0]["code"] == "duplicate"
    binary = error_of(await upload(client, alice, wid, b"n\n\xff\xfe\n"), 400)
    assert "UTF-8" in binary["message"]

    over = error_of(
        await client.post(
            path, json={"inputs": [{"n": 1}], "concurrency": 101}, headers=alice.headers
        ),
        400,
    )
    assert "FLOWMAESTRO_MAX_BATCH_CONCURRENCY" in over["message"]
    assert over["details"][0]["field"] == "concurrency"
    over_form = error_of(await upload(client, alice, wid, "n\n1\n", concurrency="500"), 400)
    assert "FLOWMAESTRO_MAX_BATCH_CONCURRENCY" in over_form["message"]
    zero = error_of(await upload(client, alice, wid, "n\n1\n", concurrency="0"), 400)
    assert zero["details"][0]["field"] == "concurrency"

    no_file = error_of(
        await client.post(
            path, data={"concurrency": "2"}, files={"other": ("x", b"")}, headers=alice.headers
        ),
        400,
    )
    assert no_file["details"][0]["field"] == "file"
    wrong_type = await client.post(
        path, content=b"<rows/>", headers={**alice.headers, "content-type": "application/xml"}
    )
    assert error_of(wrong_type, 400)["details"][0]["code"] == "unsupported"
    extra = error_of(
        await client.post(path, json={"inputs": [{"n": 1}], "colour": 1}, headers=alice.headers),
        400,
    )
    assert extra["code"] == "VALIDATION_ERROR"
    empty = error_of(await client.post(path, json={"inputs": []}, headers=alice.headers), 400)
    assert empty["code"] == "VALIDATION_ERROR"
    # nothing was started by any of these
    assert data_of(await client.get("/api/batches", headers=alice.headers))["batches"] == []


async def test_operator_maxima_of_rows_and_size(
    client: httpx.AsyncClient, alice: User, small_batches_url: str
) -> None:
    async with httpx.AsyncClient(base_url=small_batches_url, timeout=20) as small:
        wid = await create_workflow(small, alice, DOUBLE)
        path = f"/api/workflows/{wid}/batch"
        rows = "n\n" + "".join(f"{i}\n" for i in range(6))
        too_many = error_of(await upload(small, alice, wid, rows), 400)
        assert too_many["details"][0]["code"] == "too_many_rows"
        assert "FLOWMAESTRO_MAX_BATCH_ROWS" in too_many["details"][0]["message"]
        many_json = error_of(
            await small.post(path, json={"inputs": [{"n": 1}] * 6}, headers=alice.headers), 400
        )
        assert "FLOWMAESTRO_MAX_BATCH_ROWS" in many_json["message"]
        huge = "n,name\n" + f"1,{'x' * 3000}\n"
        too_big = error_of(await upload(small, alice, wid, huge), 413)
        assert too_big["code"] == "PAYLOAD_TOO_LARGE"
        assert "FLOWMAESTRO_MAX_BATCH_BODY_BYTES" in too_big["message"]
        raw = await small.post(
            path, content=huge.encode(), headers={**alice.headers, "content-type": "text/csv"}
        )
        assert error_of(raw, 413)["details"]["limit_bytes"] == 2048
        over = error_of(await upload(small, alice, wid, "n\n1\n", concurrency="3"), 400)
        assert "above the maximum 2" in over["message"]
        fine = data_of(await upload(small, alice, wid, "n\n1\n2\n"), 202)
        assert fine["concurrency"] == 2  # the operator's maximum is the default
