"""What an executor raises to say how its node failed, and so what retry does."""

from __future__ import annotations

__all__ = ["NodeError", "RetryableNodeError", "TerminalNodeError"]


class NodeError(Exception):
    """Root of node failures; `kind` is a short machine-readable category."""

    terminal = False

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class TerminalNodeError(NodeError):
    """Retrying cannot help (bad config, bad input, refused by the far side)."""

    terminal = True


class RetryableNodeError(NodeError):
    """Retrying may help; `retry_after` (seconds) is the earliest sensible retry."""

    def __init__(self, message: str, kind: str = "error", retry_after: float | None = None) -> None:
        super().__init__(message, kind)
        self.retry_after = retry_after
