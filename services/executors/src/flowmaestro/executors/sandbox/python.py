"""Python in a separate, jailed process with an empty environment and hard limits.

Layers, each enough against some threats and together against all we test:
- the child runs `python -I -S -B` with an empty environment in an empty directory;
- where `unshare` is permitted it gets its own network namespace (no route anywhere);
- run as root, it chroots into the empty directory and becomes a fresh unprivileged
  uid, so host files are absent and `RLIMIT_NPROC=1` stops any fork;
- resource limits on address space, CPU seconds, processes, open files and file size;
- an audit hook refusing file, import, process, socket and similar events;
- the parent kills the whole process group at the wall-time limit, and when the child
  writes more than the output cap (`FLOWMAESTRO_CODE_MAX_OUTPUT_BYTES`), counting what
  it writes to the real standard output and error as well as its reply;
- slots are shared fairly between tenants (`FLOWMAESTRO_PYTHON_SLOTS`, at most a share
  each), so one tenant's runs cannot keep another's waiting behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from flowmaestro.executors import settings
from flowmaestro.executors.fair_queue import FairSlots, QueueFull
from flowmaestro.executors.sandbox.limits import Limits, SandboxError, SandboxResult

__all__ = ["isolation_available", "run_python"]

_CHILD = Path(__file__).with_name("child.py")
_STARTUP_ALLOWANCE_S = 1.0
_slots: dict[asyncio.AbstractEventLoop, FairSlots] = {}


class _OutputOverflow(Exception):
    """The child wrote more than the output cap."""


def _python_slots() -> FairSlots:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots.clear()  # slots of an earlier, finished loop
        capacity = settings.PYTHON_SLOTS.read_int()
        _slots[loop] = FairSlots(capacity, settings.per_tenant(capacity), settings.QUEUE.read_int())
    return _slots[loop]


@cache
def isolation_available() -> bool:
    """True when children can get their own network namespace (root with `unshare`)."""
    tool = shutil.which("unshare")
    if tool is None or os.geteuid() != 0:
        return False
    probe = subprocess.run([tool, "--net", "--ipc", "--uts", "true"], capture_output=True)
    return probe.returncode == 0


def _command() -> list[str]:
    python = [sys.executable, "-I", "-S", "-B", str(_CHILD)]
    if isolation_available():
        return [shutil.which("unshare") or "unshare", "--net", "--ipc", "--uts", "--", *python]
    return python


def _sandbox_uid() -> int:
    # A uid of its own per run, so RLIMIT_NPROC=1 counts only this child's processes.
    return 200_000 + secrets.randbelow(1_000_000)


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes:
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        if len(data) > cap:
            raise _OutputOverflow
    return bytes(data)


async def _discard(stream: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        while await stream.read(65536):
            pass


async def _communicate(
    process: asyncio.subprocess.Process, request: bytes, wall: float, limits: Limits
) -> tuple[bytes, bytes]:
    assert process.stdin and process.stdout and process.stderr
    cap = settings.CODE_MAX_OUTPUT_BYTES.read_int()
    try:
        async with asyncio.timeout(wall):
            process.stdin.write(request)
            await process.stdin.drain()
            process.stdin.close()
            stdout, stderr = await asyncio.gather(
                _read_capped(process.stdout, cap), _read_capped(process.stderr, cap)
            )
            await process.wait()
    except TimeoutError as exc:
        raise SandboxError("timeout", f"time limit of {limits.seconds:g}s exceeded") from exc
    except _OutputOverflow as exc:
        raise SandboxError("output", f"the code wrote more than {cap} bytes") from exc
    except (BrokenPipeError, ConnectionResetError):
        stdout, stderr = b"", b""
    finally:
        if process.returncode is None:
            _kill(process)
            await _discard(process.stdout)  # the pipes must reach their end before
            await _discard(process.stderr)  # asyncio reports the process as ended
            await process.wait()
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise SandboxError("timeout", f"time limit of {limits.seconds:g}s exceeded")
    return stdout, stderr


async def run_python(
    code: str, document: Any, limits: Limits, *, owner: str = "", audit: bool = True
) -> SandboxResult:
    """Run `code` as the body of `def main(input)` in a jailed child for `owner`; return
    its JSON result.

    `audit=False` leaves out the audit hook, only so tests can prove the other layers.
    """
    try:
        await _python_slots().acquire(owner)
    except QueueFull as exc:
        raise SandboxError("busy", f"the Python sandboxes are busy: {exc}") from exc
    try:
        with tempfile.TemporaryDirectory(prefix="fm-sandbox-") as workdir:
            os.chmod(workdir, 0o555)
            request = {
                "code": code,
                "input": document,
                "seconds": limits.seconds,
                "memory_mb": limits.memory_mb,
                "jail": os.geteuid() == 0,
                "uid": _sandbox_uid(),
                "workdir": workdir,
                "audit": audit,
            }
            process = await asyncio.create_subprocess_exec(
                *_command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={},
                cwd=workdir,
                start_new_session=True,
            )
            wall = limits.seconds + _STARTUP_ALLOWANCE_S
            stdout, stderr = await _communicate(process, json.dumps(request).encode(), wall, limits)
    finally:
        _python_slots().release(owner)
    return _parse(stdout, stderr, process.returncode, limits)


def _parse(stdout: bytes, stderr: bytes, returncode: int | None, limits: Limits) -> SandboxResult:
    try:
        reply = json.loads(stdout)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        if returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name
            raise SandboxError("sandbox", f"the code's process was killed by {name}")
        last = (stderr.decode(errors="replace").strip().splitlines() or [""])[-1][:500]
        if "MemoryError" in last:
            raise SandboxError("memory", f"memory limit of {limits.memory_mb} MB exceeded")
        raise SandboxError("sandbox", f"the sandbox gave no reply (exit code {returncode}): {last}")
    if reply.get("ok"):
        return SandboxResult(output=reply.get("output"), logs=reply.get("logs") or "")
    kind = str(reply.get("kind") or "code")
    message = str(reply.get("error") or "failed")
    if kind == "memory":
        message = f"memory limit of {limits.memory_mb} MB exceeded"
    raise SandboxError(kind, message)
