"""`/api/auth`: register, login and verify."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post

from flowmaestro.gateway.deps import ServicesDep
from flowmaestro.gateway.envelope import ok
from flowmaestro.gateway.errors import AuthenticationError
from flowmaestro.gateway.models import (
    AuthResult,
    Envelope,
    LoginRequest,
    RegisterRequest,
    VerifyRequest,
    VerifyResult,
)
from flowmaestro.gateway.openapi import errors
from flowmaestro.gateway.security import (
    check_password_strength,
    hash_password,
    normalise_email,
    verify_password,
)

__all__ = ["AuthController", "address_of"]


def address_of(request: Request[Any, Any, Any], services: Any) -> str:
    """The client's address, through `FLOWMAESTRO_TRUSTED_PROXIES` only."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    return services.trusted_proxies.client(peer, forwarded)


class AuthController(Controller):
    """Accounts and tokens; the only `/api` routes that need no token."""

    path = "/api/auth"
    tags = ["auth"]

    @post("/register", status_code=201, responses=errors(400, 409, 413, 429, 503))
    async def register(
        self, data: RegisterRequest, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> Envelope[AuthResult]:
        """Create an account and return a token for it (rate-limited per address and in
        all: each registration costs a password hash)."""
        email = normalise_email(data.email)
        check_password_strength(data.password)
        services.registrations.attempt(address_of(request, services))
        user = await services.users.create(
            email, data.name.strip() or email, await hash_password(data.password)
        )
        token = services.signer.issue(user.id, user.email)
        return ok(AuthResult(user=user.public(), token=token))

    @post("/login", status_code=200, responses=errors(400, 401, 413, 429, 503))
    async def login(
        self, data: LoginRequest, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> Envelope[AuthResult]:
        """Exchange email and password for a token (rate-limited per email and address)."""
        email = data.email.strip(" \t\r\n").casefold()
        services.limiter.attempt(email, address_of(request, services))
        user = await services.users.by_email(email)
        if (
            user is None
            or user.disabled_at is not None
            or not await verify_password(user.password_hash, data.password)
        ):
            raise AuthenticationError("wrong email or password", code="INVALID_CREDENTIALS")
        services.limiter.succeeded(email)
        return ok(AuthResult(user=user.public(), token=services.signer.issue(user.id, user.email)))

    @post("/verify", status_code=200, responses=errors(400, 413, 503))
    async def verify(self, data: VerifyRequest, services: ServicesDep) -> Envelope[VerifyResult]:
        """Whether a token is valid (signature, expiry, and the user still exists)."""
        try:
            claims = services.signer.verify(data.token)
        except AuthenticationError:
            return ok(VerifyResult(valid=False))
        user = await services.users.by_id(claims.user_id)
        if user is None or user.disabled_at is not None:
            return ok(VerifyResult(valid=False))
        return ok(VerifyResult(valid=True, user=user.public()))
