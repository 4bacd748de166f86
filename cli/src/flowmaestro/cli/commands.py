"""The client commands: run, export, replay, cancel, pause, resume, executions."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msgspec

from flowmaestro.cli.render import progress_line, short, timeline
from flowmaestro.events import (
    Actor,
    DefinitionError,
    EventsError,
    ExecutionCancelRequested,
    ExecutionStarted,
    ExecutionStatus,
    InputValidationError,
    check_inputs,
    fold,
    parse_definition,
    reported_status,
)
from flowmaestro.events.codec import parse_jsonl, record_to_json
from flowmaestro.events.events import TERMINAL_EVENTS
from flowmaestro.events.names import control_key
from flowmaestro.events.replay import replay
from flowmaestro.events.validate import declared_inputs
from flowmaestro.runtime import (
    ExecutionLog,
    ExecutionNotFoundError,
    ExecutionStateError,
    connect,
    new_execution_id,
    tail,
)
from flowmaestro.runtime.answers import submit_answer
from flowmaestro.runtime.config import node_limits_from_env
from flowmaestro.runtime.control import pause_execution, resume_execution
from flowmaestro.runtime.tracing import new_traceparent

__all__ = [
    "CommandError",
    "answer",
    "cancel",
    "executions",
    "export",
    "local_actor",
    "parse_inputs",
    "pause",
    "replay_cmd",
    "resume",
    "run",
]

EXIT_FOR_STATUS = {
    ExecutionStatus.COMPLETED: 0,
    ExecutionStatus.FAILED: 1,
    ExecutionStatus.CANCELLED: 3,
}


class CommandError(Exception):
    """A user-facing error; `exit_code` is what the command exits with."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _coerce(key: str, kind: str | None, raw: str) -> Any:
    if kind == "string":
        return raw
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        if kind is None:
            return raw
        raise CommandError(f"input {key!r}: {raw!r} is not a valid {kind}") from None


def parse_inputs(
    definition_inputs: dict[str, Any], pairs: list[str], inputs_file: Path | None
) -> dict[str, Any]:
    """Inputs from `--inputs FILE` then `--input key=value` pairs, typed by the schema."""
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            loaded = msgspec.json.decode(inputs_file.read_bytes())
        except (OSError, msgspec.DecodeError) as exc:
            raise CommandError(f"{inputs_file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CommandError(f"{inputs_file}: expected a JSON object")
        inputs.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--input expects key=value, got {pair!r}")
        field = definition_inputs.get(key)
        inputs[key] = _coerce(key, field.type if field else None, raw)
    return inputs


def _load_definition(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from exc
    try:
        return parse_definition(raw, node_limits_from_env())
    except DefinitionError as exc:
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        raise CommandError(f"{path} is not a valid workflow:\n{lines}") from exc


async def run(
    nats_url: str,
    path: Path,
    pairs: list[str],
    inputs_file: Path | None,
    detach: bool,
    out: TextIO = sys.stdout,
) -> int:
    """Start an execution of the workflow in `path`, and follow it unless `detach`."""
    definition = _load_definition(path)
    try:
        inputs = check_inputs(
            definition, parse_inputs(declared_inputs(definition), pairs, inputs_file)
        )
    except InputValidationError as exc:
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        raise CommandError(f"invalid inputs:\n{lines}") from exc
    execution_id = new_execution_id()
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        await log.start(
            ExecutionStarted(
                execution_id=execution_id,
                workflow_id=path.stem,
                definition=definition,
                inputs=inputs,
                started_at=datetime.now(UTC),
                actor=local_actor(),
                traceparent=new_traceparent(),  # its log lines and spans share a trace id
            )
        )
        print(execution_id, file=out, flush=True)
        if detach:
            return 0
        status = ExecutionStatus.RUNNING
        outputs: Any = None
        async for _seq, event in tail(nc, execution_id):
            line = progress_line(event)
            if line:
                print(line, file=out, flush=True)
            if isinstance(event, TERMINAL_EVENTS):
                status = ExecutionStatus(event.status)
                outputs = getattr(event, "outputs", None)
        if outputs is not None:
            print(msgspec.json.format(msgspec.json.encode(outputs)).decode(), file=out)
        return EXIT_FOR_STATUS.get(status, 1)
    finally:
        await nc.close()


async def export(nats_url: str, execution_id: str, out: TextIO = sys.stdout) -> int:
    """Write the execution's log as JSON Lines."""
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        records = await _records(ExecutionLog(nc), execution_id)
    finally:
        await nc.close()
    for seq, event in records:
        out.write(record_to_json(seq, event) + "\n")
    return 0


async def _records(log: ExecutionLog, execution_id: str) -> list[Any]:
    records = await log.read(execution_id)
    if not records:
        raise CommandError(f"no execution {execution_id!r}", exit_code=4)
    return records


async def replay_cmd(
    nats_url: str | None, execution_id: str | None, file: Path | None, out: TextIO = sys.stdout
) -> int:
    """Fold a log offline, print its timeline, and check the recorded outcome."""
    if file is not None:
        try:
            with file.open(encoding="utf-8") as handle:
                records = parse_jsonl(handle)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        except EventsError as exc:
            raise CommandError(f"{file}: {exc}") from exc
    else:
        assert nats_url is not None and execution_id is not None
        nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
        try:
            records = await _records(ExecutionLog(nc), execution_id)
        finally:
            await nc.close()
    if not records:
        raise CommandError("the log is empty")
    try:
        result = replay(records)
    except EventsError as exc:
        raise CommandError(f"the log does not fold: {exc}") from exc
    for line in timeline(result.state):
        print(line, file=out)
    print(result.message, file=out)
    return 0 if result.reproduced else 1


async def cancel(
    nats_url: str, execution_id: str, reason: str | None, out: TextIO = sys.stdout
) -> int:
    """Ask a running execution to stop."""
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        exists, ended = await log.ending(execution_id)
        if not exists:
            raise CommandError(f"no execution {execution_id!r}", exit_code=4)
        if ended is not None:
            raise CommandError(f"execution {execution_id} has already ended")
        await log.append(
            execution_id,
            ExecutionCancelRequested(
                requested_at=datetime.now(UTC), reason=reason, actor=local_actor()
            ),
            control_key(execution_id, "cancel"),
        )
    finally:
        await nc.close()
    print(f"cancel requested for {execution_id}", file=out)
    return 0


def local_actor() -> Actor:
    """Who acts from this command line: the operating-system user, on this machine (the
    command speaks to the server directly, without a platform account)."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        name = "unknown"
    return Actor(user_id=f"local:{name}", address="local")


async def _control(nats_url: str, execution_id: str, action: str, out: TextIO) -> int:
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        do = pause_execution if action == "pause" else resume_execution
        await do(log, execution_id, local_actor())
    except ExecutionNotFoundError as exc:
        raise CommandError(str(exc), exit_code=4) from exc
    except ExecutionStateError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await nc.close()
    print(f"{action} requested for {execution_id}", file=out)
    return 0


async def pause(nats_url: str, execution_id: str, out: TextIO = sys.stdout) -> int:
    """Hold a running execution: no new node starts until it is resumed."""
    return await _control(nats_url, execution_id, "pause", out)


async def resume(nats_url: str, execution_id: str, out: TextIO = sys.stdout) -> int:
    """Let a paused execution carry on."""
    return await _control(nats_url, execution_id, "resume", out)


async def answer(
    nats_url: str, execution_id: str, node_id: str, data: str, out: TextIO = sys.stdout
) -> int:
    """Answer a waiting human-input node with the JSON object `data`."""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise CommandError(f"--data is not valid JSON: {exc}") from exc
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        await submit_answer(ExecutionLog(nc), execution_id, node_id, value, local_actor())
    except ExecutionNotFoundError as exc:
        raise CommandError(str(exc), exit_code=4) from exc
    except InputValidationError as exc:
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        raise CommandError(f"answer rejected:\n{lines}") from exc
    finally:
        await nc.close()
    print(f"answered {node_id} of {execution_id}", file=out)
    return 0


async def executions(nats_url: str, limit: int, out: TextIO = sys.stdout) -> int:
    """List recent executions, newest first, with status read from their logs."""
    nc = await connect(nats_url, name="flowmaestro-cli", persistent=False)
    try:
        log = ExecutionLog(nc)
        ids = (await log.execution_ids())[-limit:][::-1]
        print(f"{'execution':<28} {'workflow':<20} {'status':<10} {'started':<26} ms", file=out)
        for execution_id in ids:
            first = await log.read_raw(execution_id, limit=1)
            if not first:
                continue
            started = msgspec.json.decode(first[0][1], type=ExecutionStarted)
            _, ended_event = await log.ending(execution_id)
            duration = ""
            if ended_event is None:  # pending or running: the fold tells which
                status = reported_status(fold(await log.read(execution_id)))
            else:
                status = ended_event.status
                elapsed = ended_event.ended_at - started.started_at
                duration = f"{elapsed.total_seconds() * 1000:.0f}"
            print(
                f"{execution_id:<28} {short(started.workflow_id or '-', 20):<20} "
                f"{status:<10} {started.started_at.isoformat():<26} {duration}",
                file=out,
            )
    finally:
        await nc.close()
    return 0
