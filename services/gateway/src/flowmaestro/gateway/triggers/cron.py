"""Cron expressions of schedule triggers: checked, normalised to the six fields JetStream
message schedules take (seconds first), and stepped through for fire times."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from croniter import croniter

__all__ = ["CronError", "fire_before", "next_fires", "normalise", "shortest_gap", "zone"]

_MACROS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_GAP_SAMPLES = 400


class CronError(ValueError):
    """A cron expression or time zone that cannot be scheduled."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; `CronError` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name!r}") from exc


def normalise(expression: str) -> str:
    """Six fields, seconds first: a five-field expression fires at second 0, and the
    `@hourly`-style names become their fields. `CronError` when invalid."""
    text = " ".join(expression.split())
    six = _MACROS.get(text.lower())
    if six is None:
        fields = text.split(" ")
        if len(fields) == 5:
            six = "0 " + text
        elif len(fields) == 6:
            six = text
        else:
            raise CronError("a cron expression has 5 fields (or 6, seconds first)")
    from croniter import croniter  # loaded on first use: it and dateutil weigh ~6 MB

    if not croniter.is_valid(six, second_at_beginning=True):
        raise CronError(f"invalid cron expression {expression!r}")
    return six


def _steps(six: str, timezone: str, start: datetime) -> croniter:
    from croniter import croniter

    return croniter(six, start.astimezone(zone(timezone)), second_at_beginning=True)


def next_fires(six: str, timezone: str, count: int, now: datetime) -> list[datetime]:
    """The next `count` fire times after `now`, in UTC."""
    steps = _steps(six, timezone, now)
    return [steps.get_next(datetime).astimezone(UTC) for _ in range(count)]


def shortest_gap(six: str, timezone: str, now: datetime) -> float:
    """The shortest time in seconds between two fires among the next few hundred (a
    schedule that fires every second, or bursts of fires, shows here)."""
    times = next_fires(six, timezone, _GAP_SAMPLES, now)
    return min((b - a).total_seconds() for a, b in pairwise(times))


def fire_before(six: str, timezone: str, following: datetime) -> datetime:
    """The fire time just before `following` (a fire's `Nats-Schedule-Next`): which
    occurrence a fire stands for, even when it was written late."""
    return _steps(six, timezone, following).get_prev(datetime).astimezone(UTC)
