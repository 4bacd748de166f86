"""`flowmaestro rerun | retry | fork | replay --against`: new executions that reuse what an
earlier one recorded, started by the operator straight on the log (like `run`).

Each first prints its side-effect preview: the nodes with external effects the new run
runs again, with the idempotency keys their commands will carry (`events.effects`), on
the standard error so the standard output still begins with the new id. On a terminal a
preview that is not empty asks before starting (`--yes` does not ask; without a terminal
nothing asks, so scripts run as before). `--dry` prints the plan and the preview on the
standard output and starts nothing.

The new execution keeps the earlier one's owner, inputs and called workflows, so it stays
in its owner's namespace and shows in their history, linked to the original.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msgspec

from flowmaestro.cli.commands import (
    EXIT_FOR_STATUS,
    CommandError,
    _load_definition,
    _records,
    local_actor,
)
from flowmaestro.cli.render import progress_line, short
from flowmaestro.events import (
    Event,
    ExecutionStarted,
    ExecutionStatus,
    Origin,
    WorkflowDefinition,
    fold,
)
from flowmaestro.events.effects import EffectNode, preview_effects
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.events.reuse import (
    NodeReport,
    OriginError,
    ReplayPlan,
    bounded,
    compare,
    fork_origin,
    replay_origin,
    retry_origin,
)
from flowmaestro.runtime import ExecutionLog, connect, new_execution_id, tail
from flowmaestro.runtime.config import reuse_bytes_from_env
from flowmaestro.runtime.tracing import new_traceparent

__all__ = [
    "derive",
    "effect_lines",
    "parse_set",
    "plan_lines",
    "report_lines",
    "run_effects",
]


def parse_set(pairs: list[str]) -> dict[str, Any]:
    """`NODE.output=JSON` pairs (at most one) as `{node: output}`."""
    if len(pairs) > 1:
        raise CommandError("--set replaces one node's output; give it once")
    replaced: dict[str, Any] = {}
    for pair in pairs:
        target, sep, raw = pair.partition("=")
        node_id, dot, field = target.rpartition(".")
        if not sep or not dot or field != "output" or not node_id:
            raise CommandError(f"--set expects NODE.output=JSON, got {pair!r}")
        try:
            replaced[node_id] = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise CommandError(f"--set {target}: not valid JSON: {exc}") from exc
    return replaced


def plan_lines(plan: ReplayPlan) -> list[str]:
    """What a replay does, one line per kind of node."""
    return [
        f"reuse    {', '.join(plan.reuse) or '-'}",
        f"run      {', '.join(plan.run) or '-'}",
        f"changed  {', '.join(plan.changed) or '-'}",
        f"added    {', '.join(plan.added) or '-'}",
        f"removed  {', '.join(plan.removed) or '-'}",
    ]


def run_effects(
    started: ExecutionStarted, reuse: Collection[str]
) -> tuple[list[EffectNode], list[str]]:
    """The effect nodes the execution `started` begins runs (every top-level node not in
    `reuse`, each at its first attempt, with the keys of its new id), and the composites
    whose body is not known here."""
    state = fold([(1, started)])
    run = [n for n in state.definition.nodes if n not in reuse]
    running = set(run)
    fed = {e.target for e in state.definition.edges if e.source in running}
    effects: dict[tuple[str, ...], EffectNode] = {}
    unknown: list[str] = []
    for root in (n for n in run if n not in fed):
        preview = preview_effects(state, root)
        for effect in preview.effects:
            if (effect.via[0] if effect.via else effect.node_id) in running:
                effects.setdefault((*effect.via, effect.node_id), effect)
        for path in preview.unknown:
            if path.split("/")[0] in running and path not in unknown:
                unknown.append(path)
    return list(effects.values()), unknown


def effect_lines(effects: list[EffectNode], unknown: list[str]) -> list[str]:
    """The side-effect preview: one `effect` line per node with its key (`effects -` for
    none), one `unknown` line per composite whose body is not known here."""
    lines = [] if effects or unknown else ["effects  - (no node with external effects runs)"]
    for effect in effects:
        inside = f" inside {'/'.join(effect.via)}" if effect.via else ""
        lines.append(
            f"effect   {effect.node_id} [{effect.type}]{inside}  key {effect.idempotency_key}"
        )
    lines.extend(f"unknown  {path}: its body is not known here" for path in unknown)
    return lines


def report_lines(reports: list[NodeReport]) -> list[str]:
    """The per-node comparison: verdict, statuses, and each change of a changed output."""
    lines = [f"{'node':<24} {'verdict':<10} {'original':<10} {'now':<10}"]
    for report in reports:
        reused = " (reused)" if report.reused else ""
        lines.append(
            f"{short(report.node_id, 24).strip(chr(34)):<24} {report.verdict:<10} "
            f"{report.original_status or '-':<10} {report.status or '-':<10}{reused}"
        )
        for op in report.diff or ():
            value = f" {short(op.get('old'), 30)} → {short(op.get('value'), 30)}"
            lines.append(f"    {op['op']} {op['path'] or '/'}{value}")
    return lines


def _origin(
    kind: str,
    execution_id: str,
    records: list[tuple[int, Event]],
    node_id: str | None,
    at: int | None,
    replaced: dict[str, Any],
    definition: WorkflowDefinition | None,
) -> tuple[Origin, ReplayPlan | None]:
    try:
        if kind == "retry":
            assert node_id is not None
            return retry_origin(execution_id, records, node_id), None
        if kind == "fork":
            assert at is not None
            return fork_origin(execution_id, records, at, replaced), None
        if kind == "replay":
            assert definition is not None
            return replay_origin(execution_id, records, definition)
    except OriginError as exc:
        raise CommandError(f"{exc.field}: {exc}") from exc
    return Origin(execution_id=execution_id, kind="rerun"), None


async def derive(
    nats_url: str,
    kind: str,
    execution_id: str,
    *,
    node_id: str | None = None,
    at: int | None = None,
    sets: list[str] | None = None,
    against: Path | None = None,
    dry: bool = False,
    yes: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Start a `kind` (rerun, retry, fork, replay) of `execution_id` and follow it: first
    the side-effect preview (standard error); a replay prints its plan first and, once it
    ended, the per-node report. `dry`: the plan and the preview (standard output) only.
    On a terminal, a preview with effects is confirmed first unless `yes`."""
    replaced = parse_set(sets or [])
    definition = _load_definition(against) if against is not None else None
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        records = await _records(log, execution_id)
        first = records[0][1]
        if not isinstance(first, ExecutionStarted):
            raise CommandError(f"the log of {execution_id} does not begin with its start")
        origin, plan = _origin(kind, execution_id, records, node_id, at, replaced, definition)
        if plan is not None:
            for line in plan_lines(plan):
                print(line, file=out)
        try:
            origin, left_out = bounded(origin, reuse_bytes_from_env())
        except OriginError as exc:
            raise CommandError(str(exc)) from exc
        new_id = new_execution_id()
        started = msgspec.structs.replace(
            first,
            execution_id=new_id,
            definition=definition or first.definition,
            started_at=datetime.now(UTC),
            actor=local_actor(),
            origin=origin,
            parent=None,
            batch_id=None,
            trigger=None,
            traceparent=new_traceparent(),
        )
        effects, unknown = run_effects(started, origin.reuse)
        preview_out = out if dry else sys.stderr
        if plan is None and dry:
            reused = [n for n in started.definition.nodes if n in origin.reuse]
            runs = [n for n in started.definition.nodes if n not in origin.reuse]
            print(f"reuse    {', '.join(reused) or '-'}", file=out)
            print(f"run      {', '.join(runs) or '-'}", file=out)
        for line in effect_lines(effects, unknown):
            print(line, file=preview_out, flush=True)
        if left_out:
            print(f"over the reuse bound, run again: {', '.join(left_out)}", file=out)
        if dry:
            return 0
        if (effects or unknown) and not yes and sys.stdin.isatty():
            print("run these again? [y/N] ", end="", file=sys.stderr, flush=True)
            answer = await asyncio.to_thread(sys.stdin.readline)
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("not started (--yes starts without asking)")
        await log.start(started)
        print(new_id, file=out, flush=True)
        status = ExecutionStatus.RUNNING
        async for _seq, event in tail(nc, new_id):
            line = progress_line(event)
            if line:
                print(line, file=out, flush=True)
            if isinstance(event, TERMINAL_EVENTS):
                status = ExecutionStatus(event.status)
        if kind == "replay":
            derived = fold(await log.read(new_id))
            for line in report_lines(compare(fold(records), derived)):
                print(line, file=out)
        return EXIT_FOR_STATUS.get(status, 1)
    finally:
        await nc.close()
