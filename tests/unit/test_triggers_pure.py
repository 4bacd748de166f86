"""The pure parts of triggers: cron steps and bounds, subject patterns inside a tenant's
namespace, webhook signatures and inputs, the operator's trigger bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowmaestro.events import TriggerLimits
from flowmaestro.events.names import (
    tenant_event_filter,
    tenant_event_msg_id,
    tenant_event_owner,
    tenant_event_subject,
    trigger_execution_id,
)
from flowmaestro.gateway.errors import AuthenticationError, ValidationFailedError
from flowmaestro.gateway.triggers import cron
from flowmaestro.gateway.triggers.subjects import subject_matches
from flowmaestro.gateway.triggers.webhooks import fire_key, request_inputs, sign, verify
from flowmaestro.runtime.config import trigger_limits_from_env

NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
HOOK = {
    "signature_header": "X-Sig",
    "timestamp_header": "X-Time",
    "replay_window_seconds": 300.0,
    "headers": {"X-Event": "event"},
}


def test_cron_is_normalised_to_six_fields_and_stepped_in_its_time_zone() -> None:
    assert cron.normalise("0 9 * * 1-5") == "0 0 9 * * 1-5"
    assert cron.normalise("  */2  * * * * * ") == "*/2 * * * * *"
    assert cron.normalise("@hourly") == "0 0 * * * *"
    for bad in ("0 * * *", "61 * * * *", "a b c d e", ""):
        with pytest.raises(cron.CronError):
            cron.normalise(bad)
    with pytest.raises(cron.CronError):
        cron.zone("Mars/Olympus")
    # 09:00 in Paris is 08:00 UTC before the clocks change on 29 March, 07:00 after
    fires = cron.next_fires("0 0 9 * * *", "Europe/Paris", 2, NOW)
    assert [f.hour for f in fires] == [8, 7]
    assert cron.shortest_gap("* * * * * *", "UTC", NOW) == 1.0
    assert cron.shortest_gap("0 0,30 0 * * *", "UTC", NOW) == 1800.0
    following = datetime(2026, 3, 28, 12, 0, 4, tzinfo=UTC)
    assert cron.fire_before("*/2 * * * * *", "UTC", following) == following.replace(second=2)


def test_event_patterns_stay_inside_their_owners_namespace() -> None:
    assert tenant_event_filter("u1", "orders.>") == "fm.tenant.u1.events.orders.>"
    for hostile in ("a.>.b", ">x", "a..b", "a b", "*.>.>", ""):
        with pytest.raises(ValueError):
            tenant_event_filter("u1", hostile)
    with pytest.raises(ValueError):
        tenant_event_filter("u1.events.x", "y")
    assert tenant_event_owner("fm.tenant.u1.events.orders.new") == "u1"
    assert tenant_event_owner("fm.exec.x.e") is None
    own = tenant_event_filter("u1", "orders.*")
    assert subject_matches(own, "fm.tenant.u1.events.orders.new")
    assert not subject_matches(own, "fm.tenant.u2.events.orders.new")
    assert not subject_matches(own, "fm.tenant.u1.events.orders.new.x")
    assert subject_matches("a.>", "a.b.c") and not subject_matches("a.>", "a")


def test_published_events_land_in_the_publishers_namespace() -> None:
    assert tenant_event_subject("u1", "orders.new") == "fm.tenant.u1.events.orders.new"
    # a subject naming another namespace is only deeper inside one's own
    deeper = tenant_event_subject("u1", "fm.tenant.u2.events.x")
    assert tenant_event_owner(deeper) == "u1"
    assert not subject_matches(tenant_event_filter("u2", ">"), deeper)
    for hostile in ("orders.*", "orders.>", "a..b", "a b", "", ".a", "a."):
        with pytest.raises(ValueError):
            tenant_event_subject("u1", hostile)
    with pytest.raises(ValueError):
        tenant_event_subject("u1.events.x", "y")
    assert tenant_event_msg_id("u1", "k") == tenant_event_msg_id("u1", "k")
    assert tenant_event_msg_id("u1", "k") != tenant_event_msg_id("u2", "k")
    assert tenant_event_msg_id("u1", "k") != tenant_event_msg_id("u1", "k2")


def test_a_signature_covers_timestamp_and_body_within_the_replay_window() -> None:
    body = b'{"amount": 5}'
    headers = {"x-sig": sign("secret", "1000", body), "x-time": "1000"}
    digest = verify("secret", body, headers, HOOK, now=1100)
    assert fire_key(digest, headers, "r") == f"sig:{digest}"
    refusals = [
        (body + b" ", headers, 1100, "INVALID_SIGNATURE"),
        (body, {**headers, "x-time": "1001"}, 1100, "INVALID_SIGNATURE"),
        (body, {"x-time": "1000"}, 1100, "INVALID_SIGNATURE"),
        (body, headers, 1000 + 301, "STALE_REQUEST"),
        (body, headers, 1000 - 301, "STALE_REQUEST"),
        (body, {**headers, "x-time": "soon"}, 1100, "STALE_REQUEST"),
    ]
    for sent, given, now, code in refusals:
        with pytest.raises(AuthenticationError) as refused:
            verify("secret", sent, given, HOOK, now=now)
        assert refused.value.code == code
    with pytest.raises(AuthenticationError):
        verify("another", body, headers, HOOK, now=1100)
    assert fire_key(None, {"idempotency-key": "k"}, "r").startswith("key:")
    assert fire_key(None, {}, "r") == "req:r"
    assert trigger_execution_id("t1", "a") == trigger_execution_id("t1", "a")
    assert trigger_execution_id("t1", "a") != trigger_execution_id("t1", "b")


def test_a_request_becomes_inputs_from_json_or_a_form_and_mapped_headers() -> None:
    headers = {"x-event": "push"}
    assert request_inputs(b'{"a": 1}', "application/json", headers, HOOK) == {
        "a": 1,
        "event": "push",
    }
    assert request_inputs(b"a=1&b=x", "application/x-www-form-urlencoded", {}, HOOK) == {
        "a": "1",
        "b": "x",
    }
    assert request_inputs(b"", "", {}, HOOK) == {}
    for body, kind in ((b"[1]", "application/json"), (b"{", ""), (b"x", "text/plain")):
        with pytest.raises(ValidationFailedError):
            request_inputs(body, kind, {}, HOOK)
    with pytest.raises(ValidationFailedError):
        request_inputs(b"[" * 100_000, "application/json", {}, HOOK)


def test_trigger_bounds_come_from_the_environment() -> None:
    assert trigger_limits_from_env({}) == TriggerLimits()
    limits = trigger_limits_from_env(
        {
            "FLOWMAESTRO_MAX_WEBHOOK_BODY_BYTES": "2048",
            "FLOWMAESTRO_MIN_TRIGGER_INTERVAL_SECONDS": "5",
        }
    )
    assert limits.webhook_body_bytes == 2048 and limits.min_trigger_interval_seconds == 5
    for bad in ("0", "-1", "x"):
        with pytest.raises(ValueError):
            trigger_limits_from_env({"FLOWMAESTRO_MAX_WEBHOOK_REQUESTS": bad})
