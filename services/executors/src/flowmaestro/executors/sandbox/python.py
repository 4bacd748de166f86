"""Python in a separate, jailed process with an empty environment and hard limits.

Layers, each enough against some threats and together against all we test:
- the child runs `python -I -S -B` with an empty environment in an empty directory;
- where `unshare` is permitted it gets its own network namespace (no route anywhere);
- run as root, it chroots into the empty directory and becomes a fresh unprivileged
  uid, so host files are absent and `RLIMIT_NPROC=1` stops any fork;
- resource limits on address space, CPU seconds, processes, open files and file size;
- an audit hook refusing file, import, process, socket and similar events;
- the parent kills the whole process group at the wall-time limit.
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

from flowmaestro.executors.sandbox.limits import Limits, SandboxError, SandboxResult

__all__ = ["isolation_available", "run_python"]

_CHILD = Path(__file__).with_name("child.py")
_STARTUP_ALLOWANCE_S = 1.0
_MAX_REPLY_BYTES = 16 * 1024 * 1024
_slots: asyncio.Semaphore | None = None


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


async def _communicate(
    process: asyncio.subprocess.Process, request: bytes, wall: float, limits: Limits
) -> tuple[bytes, bytes]:
    try:
        async with asyncio.timeout(wall):
            stdout, stderr = await process.communicate(request)
    except TimeoutError as exc:
        _kill(process)
        await process.wait()
        raise SandboxError("timeout", f"time limit of {limits.seconds:g}s exceeded") from exc
    finally:
        if process.returncode is None:
            _kill(process)
            await process.wait()
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise SandboxError("timeout", f"time limit of {limits.seconds:g}s exceeded")
    return stdout, stderr


async def run_python(
    code: str, document: Any, limits: Limits, *, audit: bool = True
) -> SandboxResult:
    """Run `code` as the body of `def main(input)` in a jailed child; return its JSON result.

    `audit=False` leaves out the audit hook, only so tests can prove the other layers.
    """
    global _slots
    if _slots is None:
        _slots = asyncio.Semaphore(os.cpu_count() or 2)
    async with _slots:
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
                limit=_MAX_REPLY_BYTES,
            )
            wall = limits.seconds + _STARTUP_ALLOWANCE_S
            stdout, stderr = await _communicate(process, json.dumps(request).encode(), wall, limits)
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
