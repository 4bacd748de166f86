"""Execution ids: time-ordered (sortable by start) and random, safe as a subject token."""

from __future__ import annotations

import os
import time

__all__ = ["new_execution_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_execution_id() -> str:
    """A 26-character id: 48 bits of milliseconds, then 80 random bits (ULID layout)."""
    millis = time.time_ns() // 1_000_000
    return _base32(millis, 10) + _base32(int.from_bytes(os.urandom(10), "big"), 16)
