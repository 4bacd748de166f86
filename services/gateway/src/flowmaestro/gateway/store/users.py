"""Users: accounts with argon2 password hashes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from flowmaestro.gateway.db import Database
from flowmaestro.gateway.errors import ConflictError
from flowmaestro.gateway.models import UserOut

__all__ = ["UserRow", "UserStore"]


class UserRow(UserOut, kw_only=True):
    """A user with the password hash (never leaves the gateway)."""

    password_hash: str
    disabled_at: datetime | None = None

    def public(self) -> UserOut:
        """The user without the hash."""
        return UserOut(id=self.id, email=self.email, name=self.name, created_at=self.created_at)


def _row(record: asyncpg.Record | None) -> UserRow | None:
    return None if record is None else UserRow(**dict(record))


class UserStore:
    """Reads and creates users."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, email: str, name: str, password_hash: str) -> UserRow:
        """A new user; raises `ConflictError` (EMAIL_TAKEN) when the email is registered."""
        try:
            record = await self.db.fetchrow(
                "INSERT INTO users (id, email, name, password_hash, created_at)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING *",
                uuid.uuid4().hex,
                email.lower(),
                name,
                password_hash,
                datetime.now(UTC),
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(
                "an account with this email already exists",
                [{"field": "email", "code": "email_taken", "message": "already registered"}],
                code="EMAIL_TAKEN",
            ) from None
        user = _row(record)
        assert user is not None
        return user

    async def by_email(self, email: str) -> UserRow | None:
        """The user with this email (case-insensitive), or None."""
        return _row(await self.db.fetchrow("SELECT * FROM users WHERE email = $1", email.lower()))

    async def by_id(self, user_id: str) -> UserRow | None:
        """The user with this id, or None."""
        return _row(await self.db.fetchrow("SELECT * FROM users WHERE id = $1", user_id))

    async def is_active(self, user_id: str) -> bool:
        """True when the user exists and is not disabled (checked on every request)."""
        return bool(
            await self.db.fetchval(
                "SELECT true FROM users WHERE id = $1 AND disabled_at IS NULL", user_id
            )
        )
