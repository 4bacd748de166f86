"""`flowmaestro verify`, `diff` and `effects`: check a log's hash chain, compare two runs,
list what a run from one node would do outside again.

Each reads the logs from NATS (as the operator) and calls the pure function the gateway
calls too (`events.chain.verify_chain`, `events.diff.diff_executions`,
`events.effects.preview_effects`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import msgspec

from flowmaestro.cli.commands import CommandError
from flowmaestro.events import ExecutionState, fold
from flowmaestro.events.chain import ChainReport, verify_chain
from flowmaestro.events.diff import ExecutionDiff, diff_executions
from flowmaestro.events.effects import preview_effects
from flowmaestro.events.names import is_valid_token
from flowmaestro.runtime import ExecutionLog, connect

__all__ = ["COMMANDS", "add_parsers", "diff", "effects", "run_command", "verify"]


def add_parsers(sub: Any) -> None:
    """The `verify` and `diff` commands."""
    verify_cmd = sub.add_parser("verify", help="check an execution log's hash chain")
    verify_cmd.add_argument("execution_id")
    verify_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    diff_cmd = sub.add_parser("diff", help="compare two executions node by node")
    diff_cmd.add_argument("a", metavar="A")
    diff_cmd.add_argument("b", metavar="B")
    diff_cmd.add_argument("--json", action="store_true", help="print the diff as JSON")
    effects_cmd = sub.add_parser(
        "effects", help="what a run from a node would do outside again (before a retry)"
    )
    effects_cmd.add_argument("execution_id")
    effects_cmd.add_argument("--from", dest="from_node", required=True, metavar="NODE")
    effects_cmd.add_argument("--into", metavar="ID", help="the execution id the run would have")
    effects_cmd.add_argument("--json", action="store_true", help="print the preview as JSON")


COMMANDS = frozenset({"verify", "diff", "effects"})
"""The commands this module adds."""


async def run_command(args: argparse.Namespace, nats_url: str) -> int:
    """Run one of `COMMANDS`; the exit code."""
    if args.command == "verify":
        return await verify(nats_url, args.execution_id, args.json)
    if args.command == "effects":
        return await effects(nats_url, args.execution_id, args.from_node, args.into, args.json)
    return await diff(nats_url, args.a, args.b, args.json)


async def verify(
    nats_url: str, execution_id: str, as_json: bool = False, out: TextIO = sys.stdout
) -> int:
    """Check the chain: exit 0 when intact, 1 when broken, 4 when there is no such log."""
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        entries = await ExecutionLog(nc).read_log(execution_id)
    finally:
        await nc.close()
    if not entries:
        raise CommandError(f"no execution {execution_id!r}", exit_code=4)
    report = verify_chain(execution_id, entries)
    if as_json:
        out.write(msgspec.json.encode(report).decode() + "\n")
    else:
        for line in _verify_lines(report):
            print(line, file=out)
    return 0 if report.ok else 1


def _verify_lines(report: ChainReport) -> list[str]:
    counts = f"{report.messages} messages, {report.stamps} stamps"
    ended = "ended" if report.ended else "not ended"
    if report.ok:
        lines = [f"chain intact: {counts}, {ended}, verified through seq {report.verified_through}"]
    else:
        lines = [
            f"chain broken: first bad seq {report.first_bad_seq} "
            f"(detected at seq {report.detected_at_seq}): {report.reason}",
            f"{counts}, {ended}, verified through seq {report.verified_through}",
        ]
    if report.uncovered:
        lines.append(f"not yet covered by a stamp: seq {', '.join(map(str, report.uncovered))}")
    lines.append(f"head {report.head}")
    return lines


async def _state(log: ExecutionLog, execution_id: str) -> ExecutionState:
    records = await log.read(execution_id)
    if not records:
        raise CommandError(f"no execution {execution_id!r}", exit_code=4)
    return fold(records)


async def diff(
    nats_url: str, a: str, b: str, as_json: bool = False, out: TextIO = sys.stdout
) -> int:
    """Compare two executions: exit 0 when no node differs, 1 when some do."""
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        found = diff_executions(await _state(log, a), await _state(log, b))
    finally:
        await nc.close()
    if as_json:
        out.write(msgspec.json.encode(found).decode() + "\n")
    else:
        for line in _diff_lines(found):
            print(line, file=out)
    return 1 if found.changed_nodes or found.status_a != found.status_b else 0


def _pair(x: Any, y: Any, unit: str = "") -> str:
    def show(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.6g}{unit}"
        return f"{value}{unit}"

    return show(x) if x == y else f"{show(x)} → {show(y)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff_lines(found: ExecutionDiff) -> list[str]:
    lines = [
        f"A {found.a}  B {found.b}  "
        + ("same definition" if found.same_definition else "definitions differ"),
        f"status    {_pair(found.status_a, found.status_b)}",
        f"duration  {_pair(found.duration_ms_a, found.duration_ms_b, ' ms')}",
        f"tokens    {_pair(found.tokens_a, found.tokens_b)}",
        f"cost      {_pair(found.cost_usd_a, found.cost_usd_b, ' USD')}",
        f"{found.changed_nodes} of {len(found.nodes)} nodes differ",
    ]
    for node in found.nodes:
        mark = "≠" if node.changed else "="
        where = f" (only in {node.only_in.upper()})" if node.only_in else ""
        lines.append(
            f"{mark} {node.node_id} [{node.type}]{where}  "
            f"status {_pair(node.status_a, node.status_b)}  "
            f"duration {_pair(node.duration_ms_a, node.duration_ms_b, ' ms')}  "
            f"tokens {_pair(node.tokens_a, node.tokens_b)}  "
            f"cost {_pair(node.cost_usd_a, node.cost_usd_b)}"
        )
        for change in node.output_changes:
            path = change.path or "/"
            if change.op == "added":
                lines.append(f"    + {path}: {_short(change.b)}")
            elif change.op == "removed":
                lines.append(f"    - {path}: {_short(change.a)}")
            else:
                lines.append(f"    ~ {path}: {_short(change.a)} → {_short(change.b)}")
        if node.output_truncated:
            lines.append("    … more changes not shown")
    return lines


async def effects(
    nats_url: str,
    execution_id: str,
    from_node: str,
    into: str | None = None,
    as_json: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """List the effect nodes a run from `from_node` would run again, with their keys."""
    if into is not None and not is_valid_token(into):
        raise CommandError(f"not an execution id: {into!r}")
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        state = await _state(ExecutionLog(nc), execution_id)
    finally:
        await nc.close()
    try:
        preview = preview_effects(state, from_node, into)
    except KeyError:
        raise CommandError(f"execution {execution_id} has no node {from_node!r}") from None
    if as_json:
        out.write(msgspec.json.encode(preview).decode() + "\n")
        return 0
    print(
        f"a run from {from_node} as {preview.into} runs again: {', '.join(preview.rerun)}", file=out
    )
    if not preview.effects:
        print("no node with external effects", file=out)
    for effect in preview.effects:
        inside = f" inside {'/'.join(effect.via)}" if effect.via else ""
        print(f"{effect.node_id} [{effect.type}]{inside}  key {effect.idempotency_key}", file=out)
    for node_id in preview.unknown:
        print(f"{node_id}: its body is not known here (its effects are not listed)", file=out)
    return 0
