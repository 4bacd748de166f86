"""The gateway's pure parts: log → rows, log → live messages, tokens, limits, passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from flowmaestro.events import (
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionStarted,
    NodeCompleted,
    NodeScheduled,
    NodeSkipped,
    NodeWaiting,
    fold,
    parse_definition,
)
from flowmaestro.gateway.config import DEFAULT_JWT_SECRET, GatewaySettings
from flowmaestro.gateway.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitedError,
    ValidationFailedError,
)
from flowmaestro.gateway.messages import client_type, event_message
from flowmaestro.gateway.projection import (
    EXECUTION_COLUMNS,
    LEVELS,
    LOG_COLUMNS,
    current_state,
    event_level,
    execution_row,
    log_rows,
)
from flowmaestro.gateway.security import LoginLimiter, TokenSigner, check_password_strength

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _log() -> list:
    definition = parse_definition((EXAMPLES / "approval.json").read_bytes())
    return [
        (
            1,
            ExecutionStarted(
                execution_id="e1",
                definition=definition,
                inputs={"amount": 3},
                started_at=T0,
                owner_id="u1",
            ),
        ),
        (2, NodeScheduled(node_id="start", attempt=1, scheduled_at=T0, input_hash="h")),
        (3, NodeCompleted(node_id="start", attempt=1, completed_at=T0 + timedelta(seconds=1))),
        (
            5,
            NodeWaiting(
                node_id="approve",
                attempt=1,
                waiting_since=T0,
                request={"prompt": "ok?", "mode": "approval"},
            ),
        ),
        (8, NodeSkipped(node_id="deny")),
        (9, ExecutionCompleted(completed_at=T0 + timedelta(seconds=2), outputs={"x": "a\x00b"})),
    ]


def test_rows_are_a_pure_function_of_the_log() -> None:
    records = _log()
    row = execution_row(fold(records))
    assert row == execution_row(fold(records))
    assert row.status == "completed" and row.duration_ms == 2000.0 and row.last_seq == 9
    assert row.outputs == {"x": "a\ufffdb"}  # PostgreSQL text cannot hold NUL
    assert current_state(row.nodes, row.variables) == {
        "nodes": {"start": None},
        "variables": {},
        "output_refs": {},
    }
    assert tuple(row._asdict()) == EXECUTION_COLUMNS  # binds to the columns by position
    logs = log_rows("e1", records)
    assert [r.seq for r in logs] == [1, 2, 3, 5, 8, 9]
    assert logs[4].created_at == logs[3].created_at  # node.skipped has no time: the previous
    assert "definition" not in logs[0].metadata
    assert tuple(logs[0]._asdict()) == LOG_COLUMNS


def test_a_run_is_pending_until_its_first_node_is_scheduled() -> None:
    records = _log()
    assert execution_row(fold(records[:1])).status == "pending"
    assert execution_row(fold(records[:2])).status == "running"
    assert [r.level for r in log_rows("e1", records)] == ["info"] * 6


def test_current_state_holds_outputs_and_variables_while_running() -> None:
    records = _log()[:3]
    records[2] = (
        3,
        NodeCompleted(
            node_id="start",
            attempt=1,
            completed_at=T0,
            output={"amount": 3},
            vars={"total": 3},
        ),
    )
    row = execution_row(fold(records))
    assert row.status == "running"
    state = current_state(row.nodes, row.variables)
    assert state["nodes"] == {"start": {"amount": 3}}
    assert state["variables"] == {"total": 3}


def test_warnings_say_warn() -> None:
    cancel = ExecutionCancelRequested(requested_at=T0, reason="enough")
    assert event_level(cancel) == "warn" and "warn" in LEVELS


def test_live_messages() -> None:
    records = _log()
    kinds = [client_type(e) for _, e in records]
    assert kinds == [
        "execution:started",
        "node:started",
        "node:completed",
        "user:input:required",
        "node:skipped",
        "execution:completed",
    ]
    message = event_message("e1", 5, records[3][1], T0)
    assert message["node_id"] == "approve" and message["data"]["seq"] == 5
    assert message["data"]["request"]["prompt"] == "ok?"


def test_tokens_expire_and_are_signed() -> None:
    signer = TokenSigner("x" * 32, 60)
    claims = signer.verify(signer.issue("u1", "a@b.io"))
    assert claims.user_id == "u1"
    with pytest.raises(AuthenticationError):
        TokenSigner("y" * 32, 60).verify(signer.issue("u1", "a@b.io"))
    with pytest.raises(AuthenticationError) as expired:
        signer.verify(TokenSigner("x" * 32, -1).issue("u1", "a@b.io"))
    assert expired.value.code == "TOKEN_EXPIRED"


def test_login_limits_per_email_and_per_address() -> None:
    limiter = LoginLimiter(per_email=2, per_address=3, window_s=60)
    limiter.attempt("a@b.io", "1.1.1.1")
    limiter.attempt("A@b.io", "1.1.1.1")
    with pytest.raises(RateLimitedError):
        limiter.attempt("a@b.io", "2.2.2.2")
    limiter.attempt("c@b.io", "1.1.1.1")
    with pytest.raises(RateLimitedError):
        limiter.attempt("d@b.io", "1.1.1.1")


@pytest.mark.parametrize("password", ["short1", "onlyletters", "1234567890"])
def test_weak_passwords(password: str) -> None:
    with pytest.raises(ValidationFailedError) as weak:
        check_password_strength(password)
    assert weak.value.code == "WEAK_PASSWORD"


def test_production_refuses_the_default_secret() -> None:
    settings = GatewaySettings(nats_url="n", database_url="d", environment="production")
    with pytest.raises(ConfigurationError):
        settings.check()
    GatewaySettings(nats_url="n", database_url="d", jwt_secret=DEFAULT_JWT_SECRET).check()


@pytest.mark.parametrize(
    "bounds",
    [{"draft_bytes": 0}, {"draft_bytes": 26 * 1024 * 1024}, {"draft_writes_per_minute": 6001}],
)
def test_draft_bounds_have_maxima(bounds: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        GatewaySettings(nats_url="n", database_url="d", **bounds).check()  # type: ignore[arg-type]


def test_if_match_names_a_revision() -> None:
    from flowmaestro.gateway.routes.drafts import expected_revision

    assert expected_revision('"12"') == 12 and expected_revision('W/"7"') == 7
    assert expected_revision("*") is None
    with pytest.raises(ValidationFailedError):
        expected_revision('"twelve"')


def test_a_row_says_how_its_run_started() -> None:
    from flowmaestro.events import TriggerRef

    records = _log()
    started = records[0][1]
    assert execution_row(fold(records)).source == "manual"
    for change, source in (
        ({"trigger": TriggerRef(trigger_id="t", kind="schedule")}, "schedule"),
        ({"trigger": TriggerRef(trigger_id="t", kind="event")}, "event"),
        ({"batch_id": "b1"}, "batch"),
    ):
        first = (1, msgspec.structs.replace(started, **change))
        assert execution_row(fold([first, *records[1:]])).source == source
