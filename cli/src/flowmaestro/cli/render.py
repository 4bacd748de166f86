"""Human-readable lines for progress and timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowmaestro.events import (
    ChildFinished,
    ChildStarted,
    Event,
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStarted,
    ExecutionState,
    NodeCompleted,
    NodeFailed,
    NodeProgress,
    NodeRetryDue,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeWaiting,
)

__all__ = ["progress_line", "short", "timeline"]


def short(value: Any, width: int = 60) -> str:
    """A one-line JSON preview of `value`, cut to `width` characters."""
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def _clock(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S.%f")[:-3] if at else "-"


def progress_line(event: Event) -> str | None:
    """One line describing `event` as progress, or None for events not worth a line."""
    match event:
        case ExecutionStarted(execution_id=eid):
            return f"started    {eid}"
        case NodeScheduled(node_id=n, attempt=a):
            return f"running    {n} (attempt {a})"
        case NodeCompleted(node_id=n, output=o, reused=r) if r is not None:
            return f"reused     {n} from {r.execution_id or 'given outputs'} → {short(o)}"
        case NodeCompleted(node_id=n, output=o, duration_ms=d):
            took = f" in {d:.1f} ms" if d is not None else ""
            return f"completed  {n}{took} → {short(o)}"
        case NodeFailed(node_id=n, attempt=a, error=e):
            return f"failed     {n} (attempt {a}): {e.message}"
        case NodeWaiting(node_id=n, until=u):
            return f"waiting    {n}" + (f" until {u.isoformat()}" if u else "")
        case NodeRetrying(node_id=n, attempt=a, retry_at=r):
            return f"retrying   {n} as attempt {a} at {_clock(r)}"
        case NodeSkipped(node_id=n):
            return f"skipped    {n}"
        case ExecutionCancelRequested():
            return "cancel requested"
        case ExecutionCompleted():
            return "execution completed"
        case ExecutionFailed(node_id=n, error=e):
            return f"execution failed at {n}: {e.message}"
        case ExecutionCancelled():
            return "execution cancelled"
        case ChildStarted(node_id=n, index=i, execution_id=child):
            return f"child      {n}[{i}] started as {child}"
        case ChildFinished(node_id=n, index=i, status=status):
            return f"child      {n}[{i}] {status}"
        case NodeProgress(node_id=n, key=key):
            return f"progress   {n}: {key}"
        case NodeRetryDue():
            return None
    return None


def timeline(state: ExecutionState) -> list[str]:
    """The replay timeline: each node with its attempts, status, times and output."""
    lines = [
        f"execution {state.execution_id}  status {state.status}  "
        f"started {state.started_at.isoformat()}"
    ]
    if state.origin is not None:
        source = state.origin.execution_id or "outputs given by hand"
        lines.append(f"{state.origin.kind} of {source}")
    lines.append(
        f"{'node':<20} {'status':<10} {'att':>3} {'start':>12} {'end':>12} {'ms':>9}  output"
    )
    for node_id in state.graph.order:
        node = state.nodes[node_id]
        duration = None
        if node.attempts and node.attempts[-1].duration_ms is not None:
            duration = node.attempts[-1].duration_ms
        elif node.scheduled_at and node.ended_at:
            duration = (node.ended_at - node.scheduled_at).total_seconds() * 1000
        shown = (
            short(node.output, 40)
            if node.status == "completed"
            else (node.error.message[:40] if node.error else "")
        )
        if node.reused is not None:
            shown = f"(reused) {shown}"
        lines.append(
            f"{node_id:<20} {node.status:<10} {node.attempt:>3} "
            f"{_clock(node.scheduled_at):>12} {_clock(node.ended_at):>12} "
            f"{duration if duration is None else f'{duration:.1f}'!s:>9}  {shown}"
        )
        for rec in node.attempts[:-1]:
            err = f" {rec.error.message[:50]}" if rec.error else ""
            lines.append(
                f"{'':<20} {'↳ ' + rec.status:<10} {rec.attempt:>3} "
                f"{_clock(rec.scheduled_at):>12} {_clock(rec.ended_at):>12}{err:>9}"
            )
    if state.ended_at:
        total = (state.ended_at - state.started_at).total_seconds() * 1000
        lines.append(f"ended {state.ended_at.isoformat()} after {total:.1f} ms")
    if state.outputs:
        lines.append(f"outputs {short(state.outputs, 200)}")
    if state.error:
        lines.append(f"error at {state.failed_node}: {state.error.message}")
    return lines
