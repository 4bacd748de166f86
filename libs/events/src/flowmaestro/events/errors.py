"""The error tree of the events library: every error it raises derives from `EventsError`."""

from __future__ import annotations

__all__ = [
    "CodecError",
    "DefinitionError",
    "EventsError",
    "FoldError",
    "InputValidationError",
    "Problem",
    "ReferenceResolutionError",
]

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition or inputs: where (node, field) and what."""

    message: str
    node_id: str | None = None
    field: str | None = None
    code: str = "invalid"

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-ready form, used by the CLI and the API's error details."""
        return {
            "node_id": self.node_id,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ".".join(p for p in (self.node_id, self.field) if p)
        return f"{where}: {self.message}" if where else self.message


class EventsError(Exception):
    """Root of every error raised by `flowmaestro.events`."""


class DefinitionError(EventsError):
    """A workflow definition is malformed; `problems` names each node and field at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class InputValidationError(EventsError):
    """Execution inputs do not match what the input nodes declare."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class ReferenceResolutionError(EventsError):
    """A `${...}` reference cannot be resolved against the execution's data."""


class CodecError(EventsError):
    """Bytes that are not a valid event or command."""


class FoldError(EventsError):
    """An event that cannot apply to the state it was folded into (wrong order or execution)."""
