"""NATS subject matching, for event triggers' patterns (`*` one token, `>` the rest)."""

from __future__ import annotations

__all__ = ["subject_matches"]


def subject_matches(pattern: str, subject: str) -> bool:
    """True when `subject` matches `pattern` as NATS matches subscriptions."""
    wanted = pattern.split(".")
    given = subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(given) > i
        if i >= len(given) or (token != "*" and token != given[i]):
            return False
    return len(given) == len(wanted)
