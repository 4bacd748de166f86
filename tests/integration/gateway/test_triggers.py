"""Triggers through the API against the real stack: shapes, audit and tenancy, cron
schedules as JetStream message schedules, signed webhooks, and tenants' events."""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from flowmaestro.events.names import tenant_event_filter
from flowmaestro.gateway.triggers.webhooks import sign
from tests.integration.gateway.test_executions import finished, workflow
from tests.support.gateway import User, data_of, error_of, eventually

pytestmark = pytest.mark.integration

TRIGGER = {"id", "workflow_id", "name", "kind", "inputs", "paused", "created_at", "updated_at"}
TRIGGER |= {"schedule", "webhook", "event", "next_fires", "last_fires"}
FIRE = {"fire_key", "outcome", "fired_at", "scheduled_at", "execution_id", "detail"}
HOOK = {"url", "mode", "timeout_seconds", "signed", "signature_header", "timestamp_header"}
HOOK |= {"replay_window_seconds", "headers"}
SECRET = "a-webhook-secret-of-some-length"


def has(value: Any, keys: set[str]) -> dict[str, Any]:
    """`value` is an object holding at least `keys`."""
    assert isinstance(value, dict), value
    assert keys <= set(value), f"missing {sorted(keys - set(value))} in {sorted(value)}"
    return value


async def create(client: httpx.AsyncClient, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """Create a trigger; returns it."""
    return data_of(await client.post("/api/triggers", json=body, headers=user.headers), 201)


async def runs_of(client: httpx.AsyncClient, user: User, trigger_id: str) -> list[dict[str, Any]]:
    """The executions a trigger started, as listed."""
    listed = await client.get(
        "/api/executions", params={"trigger_id": trigger_id, "limit": 100}, headers=user.headers
    )
    return data_of(listed)["executions"]


async def test_schedule_shapes_pause_audit_and_tenancy(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    body = {
        "workflow_id": wid,
        "name": "weekday mornings",
        "kind": "schedule",
        "inputs": {"amount": 5},
        "schedule": {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "missed": "run_once"},
    }
    made = has(await create(client, alice, body), TRIGGER)
    tid = made["id"]
    assert made["schedule"] == body["schedule"] and made["paused"] is False
    assert len(made["next_fires"]) == 5
    assert all(t.endswith(("07:00:00Z", "08:00:00Z")) for t in made["next_fires"])

    listed = data_of(
        await client.get("/api/triggers", params={"workflow_id": wid}, headers=alice.headers)
    )
    assert [t["id"] for t in listed["triggers"]] == [tid]
    renamed = await client.put(
        f"/api/triggers/{tid}", json={"name": "renamed"}, headers=alice.headers
    )
    assert data_of(renamed)["name"] == "renamed"
    paused = data_of(await client.post(f"/api/triggers/{tid}/pause", headers=alice.headers))
    assert paused["paused"] is True and paused["next_fires"] == []
    resumed = data_of(await client.post(f"/api/triggers/{tid}/resume", headers=alice.headers))
    assert resumed["paused"] is False and len(resumed["next_fires"]) == 5

    # another user's trigger is not found, whatever they try
    for method, path in (
        ("GET", f"/api/triggers/{tid}"),
        ("PUT", f"/api/triggers/{tid}"),
        ("POST", f"/api/triggers/{tid}/pause"),
        ("POST", f"/api/triggers/{tid}/resume"),
        ("DELETE", f"/api/triggers/{tid}"),
    ):
        answer = await client.request(
            method, path, json={} if method == "PUT" else None, headers=bob.headers
        )
        assert error_of(answer, 404)["code"] == "NOT_FOUND"
    assert data_of(await client.get("/api/triggers", headers=bob.headers)) == {"triggers": []}
    foreign = await client.post("/api/triggers", json=body, headers=bob.headers)
    assert error_of(foreign, 404)["code"] == "NOT_FOUND"
    others = await client.get("/api/executions", params={"trigger_id": tid}, headers=bob.headers)
    assert data_of(others)["executions"] == []

    deleted = data_of(await client.delete(f"/api/triggers/{tid}", headers=alice.headers))
    assert deleted == {"id": tid, "deleted": True}
    error_of(await client.get(f"/api/triggers/{tid}", headers=alice.headers), 404)

    audit = data_of(
        await client.get(
            "/api/audit",
            params={"resource_type": "trigger", "resource_id": tid},
            headers=alice.headers,
        )
    )["entries"]
    assert [e["action"] for e in audit] == [
        "trigger.deleted",
        "trigger.resumed",
        "trigger.paused",
        "trigger.updated",
        "trigger.created",
    ]
    assert {e["actor"]["user_id"] for e in audit} == {alice.id}
    assert {e["actor"]["address"] for e in audit} == {"127.0.0.1"}
    assert {e["details"]["workflow_id"] for e in audit} == {made["workflow_id"]}
    assert (
        data_of(
            await client.get("/api/audit", params={"resource_type": "trigger"}, headers=bob.headers)
        )["entries"]
        == []
    )


async def test_hostile_schedules_are_refused(client: httpx.AsyncClient, alice: User) -> None:
    wid = await workflow(client, alice, "branch")

    async def refused(schedule: dict[str, Any]) -> dict[str, Any]:
        body = {"workflow_id": wid, "name": "x", "kind": "schedule", "schedule": schedule}
        return error_of(await client.post("/api/triggers", json=body, headers=alice.headers), 400)

    every_second = await refused({"cron": "* * * * * *"})
    assert every_second["details"][0]["code"] == "over_limit"
    assert "FLOWMAESTRO_MIN_TRIGGER_INTERVAL_SECONDS" in every_second["message"]
    burst = await refused({"cron": "0,30 0 * * * *"})  # two fires 30 s apart, hourly
    assert burst["details"][0]["code"] == "over_limit"
    assert (await refused({"cron": "61 * * * *"}))["details"][0]["field"] == "schedule.cron"
    server_refused = await refused({"cron": "0 9 L * *"})  # croniter's, not JetStream's
    assert "JetStream refuses" in server_refused["message"]
    assert (await refused({"cron": "0 * * *"}))["details"][0]["field"] == "schedule.cron"
    assert (await refused({"cron": "0 * * * *", "timezone": "Mars/Olympus"}))["details"][0][
        "field"
    ] == "schedule.cron"
    missing = {"workflow_id": wid, "name": "x", "kind": "schedule"}
    error_of(await client.post("/api/triggers", json=missing, headers=alice.headers), 400)
    hook = await create(client, alice, {"workflow_id": wid, "name": "h", "kind": "webhook"})
    other_kind = {"schedule": {"cron": "0 * * * *"}}
    mismatch = await client.put(
        f"/api/triggers/{hook['id']}", json=other_kind, headers=alice.headers
    )
    assert error_of(mismatch, 409)["code"] == "KIND_MISMATCH"
    wrong_subject = {
        "workflow_id": wid,
        "name": "x",
        "kind": "event",
        "event": {"subject": "a.>.b"},
    }
    error_of(await client.post("/api/triggers", json=wrong_subject, headers=alice.headers), 400)


def _signed(body: bytes, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(at if at is not None else time.time()))
    return {
        "Content-Type": "application/json",
        "X-FlowMaestro-Timestamp": stamp,
        "X-FlowMaestro-Signature": sign(secret, stamp, body),
    }


async def test_signed_webhook_valid_bad_replayed_stale_huge(
    client: httpx.AsyncClient, alice: User, database_url: str
) -> None:
    wid = await workflow(client, alice, "branch")
    made = await create(
        client,
        alice,
        {
            "workflow_id": wid,
            "name": "orders",
            "kind": "webhook",
            "webhook": {"secret": SECRET, "headers": {"X-Order-Source": "source"}},
        },
    )
    hook = has(made["webhook"], HOOK)
    assert hook["signed"] is True and "secret" not in hook
    assert hook["url"].startswith("/api/hooks/") and len(hook["url"]) > 50
    url = hook["url"]
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT secret::text FROM triggers WHERE id = $1", made["id"])
    finally:
        await conn.close()
    assert "ciphertext" in stored and SECRET not in stored  # sealed at rest

    body = json.dumps({"amount": 150}).encode()
    accepted = has(
        data_of(await client.post(url, content=body, headers=_signed(body)), 202),
        {"execution_id", "status"},
    )
    eid = accepted["execution_id"]
    done = await finished(client, alice, eid)
    assert done["status"] == "completed" and done["trigger_id"] == made["id"]
    assert done["trigger_kind"] == "webhook"
    assert "large order of 150" in json.dumps(done["outputs"])
    assert [r["id"] for r in await runs_of(client, alice, made["id"])] == [eid]

    headers = _signed(body, at=time.time() - 5)  # another second: another signature
    first = data_of(await client.post(url, content=body, headers=headers), 202)
    replayed = await client.post(url, content=body, headers=headers)
    assert error_of(replayed, 409)["code"] == "REPLAYED"
    bad = {**_signed(body), "X-FlowMaestro-Signature": "sha256=" + "0" * 64}
    assert error_of(await client.post(url, content=body, headers=bad), 401)["code"] == (
        "INVALID_SIGNATURE"
    )
    other_secret = _signed(body, secret="not-the-secret-at-all!")
    error_of(await client.post(url, content=body, headers=other_secret), 401)
    tampered = _signed(body)
    error_of(await client.post(url, content=b'{"amount": 1}', headers=tampered), 401)
    stale = _signed(body, at=time.time() - 3600)
    assert error_of(await client.post(url, content=body, headers=stale), 401)["code"] == (
        "STALE_REQUEST"
    )
    unsigned = await client.post(url, json={"amount": 3})
    assert error_of(unsigned, 401)["code"] == "INVALID_SIGNATURE"
    huge = json.dumps({"amount": 1, "pad": "x" * (1024 * 1024 + 10)}).encode()
    too_large = error_of(await client.post(url, content=huge, headers=_signed(huge)), 413)
    assert too_large["code"] == "PAYLOAD_TOO_LARGE"
    assert too_large["details"]["limit_bytes"] == 1024 * 1024
    wrong = json.dumps({"amount": "lots"}).encode()
    invalid = error_of(await client.post(url, content=wrong, headers=_signed(wrong)), 400)
    assert invalid["code"] == "VALIDATION_ERROR"
    await finished(client, alice, first["execution_id"])
    # only the two accepted requests started runs
    assert len(await runs_of(client, alice, made["id"])) == 2
    fires = data_of(await client.get(f"/api/triggers/{made['id']}", headers=alice.headers))
    outcomes = sorted(has(f, FIRE)["outcome"] for f in fires["last_fires"])
    assert outcomes.count("started") == 2 and "refused" in outcomes
    assert error_of(await client.post("/api/hooks/" + "x" * 43, json={}), 404)["code"] == (
        "NOT_FOUND"
    )


async def test_webhook_flood_is_rate_limited_and_sync_answers_outputs(
    client: httpx.AsyncClient, alice: User
) -> None:
    wid = await workflow(client, alice, "branch")
    made = await create(
        client,
        alice,
        {"workflow_id": wid, "name": "sync", "kind": "webhook", "webhook": {"mode": "sync"}},
    )
    url = made["webhook"]["url"]
    answered = data_of(await client.post(url, json={"amount": 7}), 200)
    assert answered["status"] == "completed"
    assert "small order of 7" in json.dumps(answered["outputs"])
    # a flood: the default limit is 60 requests a minute per webhook (the one above counts)
    statuses = [
        (
            await client.post(url, content=b"[", headers={"Content-Type": "application/json"})
        ).status_code
        for _ in range(60)
    ]
    assert statuses[:59] == [400] * 59 and statuses[59] == 429
    limited = error_of(await client.post(url, json={"amount": 1}), 429)
    assert limited["code"] == "RATE_LIMITED"
    paused = await client.post(f"/api/triggers/{made['id']}/pause", headers=alice.headers)
    data_of(paused)


async def test_event_trigger_runs_per_message_in_the_tenants_namespace(
    client: httpx.AsyncClient, nc: Client, alice: User, bob: User
) -> None:
    wid = await workflow(client, alice, "branch")
    made = await create(
        client,
        alice,
        {"workflow_id": wid, "name": "orders", "kind": "event", "event": {"subject": "orders.*"}},
    )
    assert made["event"]["filter"] == tenant_event_filter(alice.id, "orders.*")
    js = nc.jetstream()
    await js.publish(tenant_event_filter(alice.id, "orders.created"), b'{"amount": 500}')
    await js.publish(tenant_event_filter(alice.id, "invoices.created"), b'{"amount": 1}')
    await js.publish(tenant_event_filter(bob.id, "orders.created"), b'{"amount": 2}')
    await js.publish(tenant_event_filter(alice.id, "orders.bad"), b"[1, 2]")

    async def started() -> list[dict[str, Any]] | None:
        runs = await runs_of(client, alice, made["id"])
        return runs or None

    runs = await eventually(started)
    done = await finished(client, alice, runs[0]["id"])
    assert done["trigger_kind"] == "event" and done["inputs"] == {"amount": 500}

    async def refused() -> list[dict[str, Any]] | None:
        got = data_of(await client.get(f"/api/triggers/{made['id']}", headers=alice.headers))
        return [f for f in got["last_fires"] if f["outcome"] == "refused"] or None

    assert (await eventually(refused))[0]["detail"] == "the event is not a JSON object"
    assert len(await runs_of(client, alice, made["id"])) == 1


async def test_tenants_publish_events_over_the_api_into_their_own_namespace_only(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    mine = await create(
        client,
        alice,
        {
            "workflow_id": await workflow(client, alice, "branch"),
            "name": "all of mine",
            "kind": "event",
            "event": {"subject": ">"},
        },
    )
    theirs = await create(
        client,
        bob,
        {
            "workflow_id": await workflow(client, bob, "branch"),
            "name": "all of bob's",
            "kind": "event",
            "event": {"subject": ">"},
        },
    )
    once = {"Idempotency-Key": "order-1"}
    sent = await client.post(
        "/api/events/orders.created", json={"amount": 500}, headers={**alice.headers, **once}
    )
    assert data_of(sent, 202)["subject"] == "orders.created"
    sequence = data_of(sent, 202)["sequence"]
    assert isinstance(sequence, int)
    # the same key again publishes nothing: the first event's sequence, no second run
    again = await client.post(
        "/api/events/orders.created", json={"amount": 501}, headers={**alice.headers, **once}
    )
    assert data_of(again, 202)["sequence"] == sequence
    # Bob cannot aim at alice's namespace: whatever subject he names stays inside his own
    # (and his key, though the same as hers, is his own).
    escape = f"fm.tenant.{alice.id}.events.orders.created"
    data_of(
        await client.post(
            f"/api/events/{escape}", json={"amount": 2}, headers={**bob.headers, **once}
        ),
        202,
    )
    data_of(
        await client.post("/api/events/orders.created", json={"amount": 3}, headers=bob.headers),
        202,
    )
    for hostile in ("orders.*", "orders.>", "orders..created", ".orders", "a b", "x" * 201):
        refused = await client.post(f"/api/events/{hostile}", json={}, headers=bob.headers)
        assert refused.status_code in (400, 404), (hostile, refused.text)
        assert refused.json()["success"] is False
    not_object = await client.post("/api/events/orders", json=[1, 2], headers=bob.headers)
    assert error_of(not_object, 400)["code"] == "VALIDATION_ERROR"
    huge = {"blob": "x" * (256 * 1024)}
    assert error_of(await client.post("/api/events/x", json=huge, headers=bob.headers), 413)
    error_of(await client.post("/api/events/orders", json={}), 401)

    async def bobs_two_runs() -> list[dict[str, Any]] | None:
        runs = await runs_of(client, bob, theirs["id"])
        return runs if len(runs) >= 2 else None

    bobs = await eventually(bobs_two_runs)
    for run in bobs:
        assert (await finished(client, bob, run["id"]))["inputs"]["amount"] in (2, 3)
    alices = await runs_of(client, alice, mine["id"])
    assert len(alices) == 1  # bob's events, even the one naming alice's namespace, are not hers
    done = await finished(client, alice, alices[0]["id"])
    assert done["trigger_kind"] == "event" and done["inputs"] == {"amount": 500}
    error_of(await client.get(f"/api/triggers/{theirs['id']}", headers=alice.headers), 404)
    # each publish is a person's action in the publisher's own audit trail
    published = {alice.id: ["orders.created"] * 2, bob.id: ["orders.created", escape]}
    for user in (alice, bob):
        subjects = published[user.id]
        trail = data_of(
            await client.get("/api/audit", params={"resource_type": "event"}, headers=user.headers)
        )["entries"]
        assert [e["resource_id"] for e in trail] == subjects
        assert {e["action"] for e in trail} == {"event.published"}
        assert {e["actor"]["user_id"] for e in trail} == {user.id}
        assert {e["actor"]["address"] for e in trail} == {"127.0.0.1"}
    assert trail[-1]["details"]["sequence"] + 1 == trail[0]["details"]["sequence"]
    mine = data_of(
        await client.get("/api/audit", params={"resource_type": "event"}, headers=alice.headers)
    )["entries"]
    assert [e["details"].get("duplicate") for e in mine] == [True, None]
    assert {e["details"]["sequence"] for e in mine} == {sequence}


async def test_a_tenants_events_are_rate_limited(client: httpx.AsyncClient, alice: User) -> None:
    # the default is 120 events a minute per tenant, counted in fixed windows (the flood
    # may straddle two); the limit counts before the body is read
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) <= 241:
        sent = await client.post(
            "/api/events/flood",
            content=b"[",
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        statuses.append(sent.status_code)
    assert 429 in statuses and 120 <= statuses.index(429) <= 240, statuses
    assert set(statuses[: statuses.index(429)]) == {400}
    limited = error_of(await client.post("/api/events/x", json={}, headers=alice.headers), 429)
    assert limited["code"] == "RATE_LIMITED"


async def test_a_form_and_mapped_headers_become_inputs(
    client: httpx.AsyncClient, alice: User
) -> None:
    definition = {
        "nodes": {
            "in": {
                "id": "in",
                "type": "input",
                "data": {
                    "schema": {
                        "name": {"type": "string", "required": True},
                        "source": {"type": "string", "required": True},
                    }
                },
            },
            "out": {
                "id": "out",
                "type": "output",
                "data": {"output": "${inputs.name} via ${inputs.source}"},
            },
        },
        "edges": [{"id": "e", "source": "in", "target": "out"}],
    }
    made = await client.post(
        "/api/workflows", json={"name": "form", "definition": definition}, headers=alice.headers
    )
    wid = data_of(made, 201)["id"]
    hook = await create(
        client,
        alice,
        {
            "workflow_id": wid,
            "name": "form",
            "kind": "webhook",
            "webhook": {"mode": "sync", "headers": {"X-Source": "source"}},
        },
    )
    url = hook["webhook"]["url"]
    answered = await client.post(url, data={"name": "Ada"}, headers={"X-Source": "crm"})
    assert data_of(answered, 200)["outputs"] == {"out": "Ada via crm"}
    missing = await client.post(url, data={"name": "Ada"})  # the mapped header is absent
    assert error_of(missing, 400)["code"] == "VALIDATION_ERROR"
    # an Idempotency-Key makes an unsigned request's repeat a replay
    keyed = {"X-Source": "crm", "Idempotency-Key": "order-17"}
    data_of(await client.post(url, data={"name": "Bo"}, headers=keyed), 200)
    again = await client.post(url, data={"name": "Bo"}, headers=keyed)
    assert error_of(again, 409)["code"] == "REPLAYED"
