"""Integration credentials: AES-GCM encryption with a rotatable key ring, and the
directory executors read them from.

The gateway owns integrations (PostgreSQL) and mirrors each one, credentials still
encrypted, into the `FM_INTEGRATIONS` key-value bucket. An executor decrypts a record only
inside the command that names it, and only for the execution's owner.

Keys come from `FLOWMAESTRO_SECRET_KEYS`: comma-separated `key_id:base64(32 bytes)`; the
first is used to encrypt, all of them to decrypt, so keys can be rotated.
"""

from __future__ import annotations

import base64
import contextlib
import os
from typing import Any

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from flowmaestro.events.names import INTEGRATION_BUCKET
from flowmaestro.runtime.errors import RuntimeLayerError
from flowmaestro.runtime.kv import LazyBucket

__all__ = [
    "DEV_KEY_ID",
    "IntegrationDirectory",
    "IntegrationRecord",
    "KeyRing",
    "Sealed",
    "SecretError",
]

DEV_KEY_ID = "dev"
_DEV_KEY = b"flowmaestro-development-key-32b!"  # 32 bytes; refused in production mode


class SecretError(RuntimeLayerError):
    """A secret cannot be sealed or opened (unknown key id, tampered data, bad key ring)."""


class Sealed(msgspec.Struct, frozen=True, kw_only=True):
    """An encrypted value and the id of the key that sealed it."""

    key_id: str
    nonce: str
    ciphertext: str


class KeyRing:
    """AES-256-GCM keys by id; the first encrypts."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise SecretError("the key ring is empty")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise SecretError(f"key {key_id!r} must be 32 bytes")
        self._keys = dict(keys)
        self.active = next(iter(keys))

    @classmethod
    def from_env(cls) -> KeyRing:
        """Keys from `FLOWMAESTRO_SECRET_KEYS`, or the development key when unset."""
        raw = os.environ.get("FLOWMAESTRO_SECRET_KEYS", "").strip()
        if not raw:
            return cls({DEV_KEY_ID: _DEV_KEY})
        keys: dict[str, bytes] = {}
        for part in raw.split(","):
            key_id, sep, encoded = part.strip().partition(":")
            if not sep:
                raise SecretError("FLOWMAESTRO_SECRET_KEYS entries are key_id:base64key")
            keys[key_id] = base64.b64decode(encoded)
        return cls(keys)

    @property
    def is_development(self) -> bool:
        """True when only the built-in development key is configured."""
        return self.active == DEV_KEY_ID and self._keys[DEV_KEY_ID] == _DEV_KEY

    def seal(self, value: Any, context: str = "") -> Sealed:
        """Encrypt JSON-able `value`; `context` (for example the record id) is authenticated."""
        nonce = os.urandom(12)
        data = AESGCM(self._keys[self.active]).encrypt(
            nonce, msgspec.json.encode(value), context.encode()
        )
        return Sealed(
            key_id=self.active,
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(data).decode(),
        )

    def open(self, sealed: Sealed, context: str = "") -> Any:
        """Decrypt a sealed value; raises `SecretError` when the key is unknown or data altered."""
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise SecretError(f"unknown key id {sealed.key_id!r}")
        try:
            data = AESGCM(key).decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                context.encode(),
            )
        except Exception as exc:
            raise SecretError("cannot decrypt: wrong key or altered data") from exc
        return msgspec.json.decode(data)


class IntegrationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One integration as executors see it; `credentials` stays sealed until used."""

    id: str
    owner_id: str
    name: str
    type: str
    config: dict[str, Any] = {}
    credentials: Sealed | None = None
    enabled: bool = True


class IntegrationDirectory:
    """The `FM_INTEGRATIONS` bucket: written by the gateway, read by executors."""

    def __init__(self, js: JetStreamContext) -> None:
        self._bucket = LazyBucket(js, INTEGRATION_BUCKET)

    async def put(self, record: IntegrationRecord) -> None:
        """Create or replace a record."""
        await (await self._bucket()).put(record.id, msgspec.json.encode(record))

    async def delete(self, integration_id: str) -> None:
        """Remove a record (no error when absent)."""
        with contextlib.suppress(KeyNotFoundError):
            await (await self._bucket()).delete(integration_id)

    async def get(self, integration_id: str) -> IntegrationRecord | None:
        """The record, or None when there is none (or it was deleted)."""
        try:
            entry = await (await self._bucket()).get(integration_id)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        return msgspec.json.decode(entry.value, type=IntegrationRecord)
