"""What a sandbox run may use, what it returns, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Limits", "SandboxError", "SandboxResult"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Wall time and memory one run may use."""

    seconds: float = 5.0
    memory_mb: int = 128


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """The JSON value the code returned and what it printed (Python only)."""

    output: Any
    logs: str = ""


class SandboxError(Exception):
    """The code failed or hit a limit.

    `kind` is one of `timeout`, `memory`, `forbidden`, `code` (the code raised),
    `output` (the result is not JSON, or the code wrote more than the output cap),
    `crash` (its worker process died), `busy` (the queue is full) or `sandbox` (the
    sandbox itself failed).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
