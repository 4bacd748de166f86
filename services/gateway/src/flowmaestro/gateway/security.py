"""Passwords (argon2id), signed bearer tokens (JWT, HS256) and the login rate limiter."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from flowmaestro.gateway.errors import AuthenticationError, RateLimitedError, ValidationFailedError

__all__ = [
    "MIN_PASSWORD",
    "PASSWORD_PATTERN",
    "LoginLimiter",
    "RegistrationLimiter",
    "TokenClaims",
    "TokenSigner",
    "TrustedProxies",
    "check_password_strength",
    "client_address",
    "hash_password",
    "normalise_email",
    "parse_networks",
    "verify_password",
]

_hasher = PasswordHasher()
MIN_PASSWORD = 8
PASSWORD_PATTERN = (
    r"^(?:[\s\S]*[^A-Za-z0-9][\s\S]*"
    r"|[\s\S]*[A-Za-z][\s\S]*[0-9][\s\S]*"
    r"|[\s\S]*[0-9][\s\S]*[A-Za-z][\s\S]*)$"
)
"""A strong password mixes letters with digits or has a symbol: it is not only ASCII letters
and not only digits. Written without look-arounds, so the OpenAPI document states it exactly
and any client can check it."""
_MIXED = re.compile(PASSWORD_PATTERN)
_EMAIL = re.compile(r"[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+")
_SPACE = " \t\r\n"


def normalise_email(email: str) -> str:
    """The account key of an email: trimmed of ASCII spaces and case-folded;
    `ValidationFailedError` unless it is printable ASCII shaped like an address (so no
    control, format or look-alike characters)."""
    cleaned = email.strip(_SPACE).casefold()
    if not _EMAIL.fullmatch(cleaned):
        raise ValidationFailedError(
            "the email address is not valid",
            [{"field": "email", "code": "invalid_email", "message": "not a valid address"}],
        )
    return cleaned


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks (`FLOWMAESTRO_TRUSTED_PROXIES`)."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` the gateway believes."""

    def __init__(self, spec: str) -> None:
        self.networks = parse_networks(spec)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """See `client_address`."""
        return client_address(peer, forwarded_for, self.networks)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy;
    then the right-most `X-Forwarded-For` entry that is not itself a trusted proxy."""
    if not forwarded_for or not _in(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _in(hop, trusted):
            return hop
    return peer


_MIN_PASSWORD = 8


def check_password_strength(password: str) -> None:
    """Refuse weak passwords with an error naming the `password` field."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"must be at least {MIN_PASSWORD} characters")
    if not _MIXED.match(password):
        problems.append("must mix letters with digits or symbols")
    if problems:
        raise ValidationFailedError(
            "the password is too weak",
            [{"field": "password", "code": "weak_password", "message": m} for m in problems],
            code="WEAK_PASSWORD",
        )


async def hash_password(password: str) -> str:
    """An argon2id hash, computed off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the hash."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """Who a valid token speaks for."""

    user_id: str
    email: str
    expires_at: datetime


class TokenSigner:
    """Issues and checks HS256 tokens with an expiry."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, email: str) -> str:
        """A token for the user, valid for `ttl_s` seconds."""
        now = datetime.now(UTC)
        claims = {
            "sub": user_id,
            "email": email,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_s),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> TokenClaims:
        """The token's claims; raises `AuthenticationError` when invalid or expired."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired", code="TOKEN_EXPIRED") from None
        except jwt.PyJWTError:
            raise AuthenticationError("the token is invalid", code="INVALID_TOKEN") from None
        return TokenClaims(
            user_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )


class _Window:
    """Sliding-window counts per key, bounded in memory."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str, limit: int, now: float, message: str) -> None:
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= limit:
            raise RateLimitedError(message, hits[0] + self.window_s - now)

    def add(self, key: str, now: float) -> None:
        self._hits[key].append(now)
        if len(self._hits) > 100_000:  # bound memory under a spray of addresses
            self._hits.clear()


class RegistrationLimiter:
    """Registrations per client address and in all, per window: each one costs a
    password hash, so a flood would slow every login."""

    def __init__(self, per_address: int, total: int, window_s: float) -> None:
        self.per_address = per_address
        self.total = total
        self._window = _Window(window_s)

    def attempt(self, address: str) -> None:
        """Count one registration, or raise `RateLimitedError` when a limit is reached."""
        now = time.monotonic()
        message = "too many registrations; try again later"
        self._window.check(f"addr:{address}", self.per_address, now, message)
        self._window.check("all", self.total, now, message)
        self._window.add(f"addr:{address}", now)
        self._window.add("all", now)


class LoginLimiter:
    """Sliding-window counts of login attempts per email and per client address."""

    def __init__(self, per_email: int, per_address: int, window_s: float) -> None:
        self.per_email = per_email
        self.per_address = per_address
        self.window_s = window_s
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def _check(self, key: str, limit: int, now: float) -> None:
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= limit:
            raise RateLimitedError(
                "too many login attempts; try again later", hits[0] + self.window_s - now
            )

    def attempt(self, email: str, address: str) -> None:
        """Count one attempt, or raise `RateLimitedError` when either limit is reached."""
        now = time.monotonic()
        email_key, address_key = f"email:{email.lower()}", f"addr:{address}"
        self._check(email_key, self.per_email, now)
        self._check(address_key, self.per_address, now)
        self._hits[email_key].append(now)
        self._hits[address_key].append(now)
        if len(self._hits) > 100_000:  # bound memory under a spray of addresses
            self._hits.clear()

    def succeeded(self, email: str) -> None:
        """Forget the email's failures after a good login."""
        self._hits.pop(f"email:{email.lower()}", None)
