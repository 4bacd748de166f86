"""Retry policy and its pure back-off arithmetic (jitter drawn from a hash, not a clock)."""

from __future__ import annotations

import hashlib

import msgspec

__all__ = ["DEFAULT_RETRY", "DEFAULT_TIMEOUT_SECONDS", "RetryPolicy", "backoff_seconds"]

DEFAULT_TIMEOUT_SECONDS = 300.0


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a node is retried: attempts, exponential back-off with jitter, terminal errors.

    `non_retryable` lists error kinds (an executor error's `kind`) that fail at once.
    """

    max_attempts: int = 3
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 60.0
    jitter: float = 0.2
    non_retryable: list[str] = []


DEFAULT_RETRY = RetryPolicy()


def _unit_fraction(key: str) -> float:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def backoff_seconds(policy: RetryPolicy, failed_attempt: int, key: str) -> float:
    """Delay before the attempt after `failed_attempt` (1-based), jittered by a hash of `key`.

    The same key always gives the same delay, so the decision replays identically.
    """
    base = policy.initial_interval_seconds * policy.backoff_coefficient ** (failed_attempt - 1)
    base = min(base, policy.maximum_interval_seconds)
    spread = policy.jitter * (2 * _unit_fraction(f"{key}:{failed_attempt}") - 1)
    return max(0.0, base * (1 + spread))
