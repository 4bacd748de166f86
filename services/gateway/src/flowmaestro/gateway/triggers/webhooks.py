"""Webhook requests: the body read within the operator's bound, the HMAC-SHA256 signature
and replay window checked, and the body and chosen headers turned into inputs.

A signed request signs `<timestamp>.<body>` with the trigger's secret and sends
`sha256=<hex>` in the signature header and the timestamp (seconds since the epoch) in the
timestamp header. A timestamp outside the replay window is refused; inside it, the same
signed request again is a replay (its signature is the fire's key, so it cannot start a
second run).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from flowmaestro.events.names import TriggerHeader
from flowmaestro.gateway.errors import AuthenticationError, TooLargeError, ValidationFailedError

__all__ = ["fire_key", "read_body", "request_inputs", "sign", "verify"]


async def read_body(
    chunks: AsyncIterator[bytes], declared_length: str | None, limit: int, what: str = "webhook"
) -> bytes:
    """The whole body, refused (413) as soon as it is known to be over `limit` bytes:
    from its declared length, or while it streams."""
    if declared_length and declared_length.strip().isdigit() and int(declared_length) > limit:
        raise TooLargeError(f"the {what} body is over {limit} bytes", int(declared_length), limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise TooLargeError(f"the {what} body is over {limit} bytes", len(body), limit)
    return bytes(body)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    config: Mapping[str, Any],
    now: float,
) -> str:
    """Check the signature and the replay window; returns the signature's hex digest.
    401 `INVALID_SIGNATURE` or `STALE_REQUEST` otherwise."""
    given = headers.get(config["signature_header"].lower(), "")
    timestamp = headers.get(config["timestamp_header"].lower(), "")
    if not given or not timestamp:
        raise AuthenticationError(
            f"a signed webhook needs the {config['signature_header']} and"
            f" {config['timestamp_header']} headers",
            code="INVALID_SIGNATURE",
        )
    try:
        sent_at = float(timestamp)
    except ValueError:
        raise AuthenticationError("the timestamp is not a number", code="STALE_REQUEST") from None
    if abs(now - sent_at) > config["replay_window_seconds"]:
        raise AuthenticationError(
            "the request's timestamp is outside the replay window", code="STALE_REQUEST"
        )
    expected = sign(secret, timestamp, body)
    digest = given.strip().removeprefix("sha256=")
    if not hmac.compare_digest(expected.removeprefix("sha256="), digest.lower()):
        raise AuthenticationError("the signature does not match", code="INVALID_SIGNATURE")
    return expected.removeprefix("sha256=")


def fire_key(signature: str | None, headers: Mapping[str, str], request_id: str) -> str:
    """What makes a request's fire unique: its signature, else its `Idempotency-Key`,
    else a fresh id (an unsigned request without a key is always a new fire)."""
    if signature is not None:
        return f"sig:{signature}"
    key = headers.get(TriggerHeader.IDEMPOTENCY_KEY.lower())
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()
    return f"req:{request_id}"


def _invalid(message: str) -> ValidationFailedError:
    return ValidationFailedError(
        message, [{"field": "body", "code": "invalid", "message": message}]
    )


def request_inputs(
    body: bytes, content_type: str, headers: Mapping[str, str], config: Mapping[str, Any]
) -> dict[str, Any]:
    """The inputs a request gives: a JSON object's fields or a form's fields, and the
    values of the headers the trigger maps to inputs."""
    media = content_type.split(";", 1)[0].strip().lower()
    inputs: dict[str, Any]
    if not body.strip():
        inputs = {}
    elif media == "application/x-www-form-urlencoded":
        try:
            inputs = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise _invalid("the form body is malformed") from None
    elif media in ("", "application/json") or media.endswith("+json"):
        try:
            decoded = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):
            raise _invalid("the body is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise _invalid("a JSON body must be an object (its fields become the inputs)")
        inputs = decoded
    else:
        raise _invalid(f"unsupported content type {media!r}: send JSON or a form")
    for header, name in config.get("headers", {}).items():
        value = headers.get(header.lower())
        if value is not None:
            inputs[name] = value
    return inputs
