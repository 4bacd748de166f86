"""Register, login, verify, token checks and the login rate limit, over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.gateway import PASSWORD, User, data_of, error_of, register

pytestmark = pytest.mark.integration


async def test_register_login_and_verify(client: httpx.AsyncClient) -> None:
    email = f"Carol-{uuid.uuid4().hex[:8]}@Example.com"
    created = data_of(
        await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Carol"}
        ),
        201,
    )
    assert created["user"]["email"] == email.lower()
    assert "password" not in str(created["user"]) and created["token"]
    login = data_of(
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    )
    assert login["user"]["id"] == created["user"]["id"]
    verified = data_of(await client.post("/api/auth/verify", json={"token": login["token"]}))
    assert verified == {"valid": True, "user": created["user"]}
    bad = data_of(await client.post("/api/auth/verify", json={"token": "not-a-token"}))
    assert bad == {"valid": False, "user": None}


async def test_register_errors_are_distinct(client: httpx.AsyncClient, alice: User) -> None:
    duplicate = error_of(
        await client.post(
            "/api/auth/register",
            json={"email": alice.email.upper(), "password": PASSWORD, "name": "Again"},
        ),
        409,
    )
    assert duplicate["code"] == "EMAIL_TAKEN"
    weak = error_of(
        await client.post(
            "/api/auth/register",
            json={"email": f"w-{uuid.uuid4().hex}@x.io", "password": "short", "name": "W"},
        ),
        400,
    )
    assert weak["code"] == "WEAK_PASSWORD"
    assert all(d["field"] == "password" for d in weak["details"])
    invalid = error_of(
        await client.post(
            "/api/auth/register", json={"email": "nope", "password": PASSWORD, "name": "N"}
        ),
        400,
    )
    assert invalid["code"] == "VALIDATION_ERROR"
    assert "email" in str(invalid["details"])
    wrong = error_of(
        await client.post("/api/auth/login", json={"email": alice.email, "password": "wrong1!"}),
        401,
    )
    assert wrong["code"] == "INVALID_CREDENTIALS"


async def test_protected_routes_need_a_valid_token(client: httpx.AsyncClient) -> None:
    for path in ("/api/workflows", "/api/executions", "/api/integrations", "/api/nodes"):
        assert error_of(await client.get(path), 401)["code"] == "UNAUTHORIZED"
        bad = await client.get(path, headers={"Authorization": "Bearer forged.token.value"})
        assert error_of(bad, 401)["code"] == "INVALID_TOKEN"
    assert data_of(await client.get("/health")) == {"status": "ok"}
    ready = data_of(await client.get("/ready"))
    assert ready["checks"] == {"nats": True, "database": True}


async def test_login_is_rate_limited_per_email(client: httpx.AsyncClient, alice: User) -> None:
    responses = [
        await client.post(
            "/api/auth/login", json={"email": alice.email, "password": "wrong-pass-1"}
        )
        for _ in range(11)
    ]
    assert [r.status_code for r in responses[:10]] == [401] * 10
    response = responses[-1]
    limited = error_of(response, 429)
    assert limited["code"] == "RATE_LIMITED" and "retry-after" in response.headers
    # the limit holds even with the right password, until the window passes
    right = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert right.status_code == 429


async def test_expired_token_is_refused(client: httpx.AsyncClient, alice: User) -> None:
    from flowmaestro.gateway.config import DEFAULT_JWT_SECRET
    from flowmaestro.gateway.security import TokenSigner

    expired = TokenSigner(DEFAULT_JWT_SECRET, -10).issue(alice.id, alice.email)
    response = await client.get("/api/workflows", headers={"Authorization": f"Bearer {expired}"})
    assert error_of(response, 401)["code"] == "TOKEN_EXPIRED"


async def test_registered_user_can_log_in_again(client: httpx.AsyncClient) -> None:
    user = await register(client, "Dora")
    again = data_of(
        await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    )
    assert again["user"]["id"] == user.id
