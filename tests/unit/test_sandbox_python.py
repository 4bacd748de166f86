"""The Python sandbox: JSON in and out, and every threat fails cleanly within its limits."""

from __future__ import annotations

import asyncio
import os

import pytest

from flowmaestro.executors.sandbox import Limits, SandboxError, run_python

LIMITS = Limits(seconds=1.0, memory_mb=64)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the jail layer needs root")


async def _fails(code: str, *, audit: bool = True) -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        await run_python(code, None, LIMITS, audit=audit)
    return caught.value


async def test_json_in_json_out_and_prints_are_kept_apart() -> None:
    code = "import statistics\nprint('working')\nreturn {'mean': statistics.mean(input['xs'])}"
    result = await run_python(code, {"xs": [1, 2, 3]}, LIMITS)
    assert result.output == {"mean": 2}
    assert result.logs == "working\n"


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        ("return open('/etc/passwd').read()", "forbidden", "open is not allowed"),
        ("import os\nreturn os.listdir('/')", "forbidden", "os.listdir is not allowed"),
        (
            "import socket\nsocket.create_connection(('127.0.0.1', 22))",
            "forbidden",
            "import is not allowed",
        ),
        ("import os\nreturn os.system('id')", "forbidden", "os.system is not allowed"),
        ("import subprocess\nsubprocess.run(['id'])", "forbidden", "import is not allowed"),
        ("import os\nwhile True:\n    os.fork()", "forbidden", "os.fork is not allowed"),
        ("while True:\n    pass", "timeout", "time limit of 1s"),
        ("x = bytearray(10 * 1024**3)\nreturn len(x)", "memory", "memory limit of 64 MB"),
        ("x = []\nwhile True:\n    x.append(' ' * 10**6)", "memory", "memory limit"),
        ("return {1, 2}", "output", "not JSON"),
        ("return float('nan')", "output", "not JSON"),
        ("return (", "code", "SyntaxError"),
        ("x = 1\nreturn x / 0", "code", "ZeroDivisionError: division by zero (line 2)"),
    ],
)
async def test_threats_fail_cleanly(code: str, kind: str, words: str) -> None:
    error = await _fails(code)
    assert error.kind == kind
    assert words in error.message


@ROOT_ONLY
async def test_without_the_audit_hook_the_jail_still_hides_host_files() -> None:
    error = await _fails("return open('/etc/passwd').read()", audit=False)
    assert "FileNotFoundError" in error.message


@ROOT_ONLY
async def test_without_the_audit_hook_a_fork_bomb_cannot_fork() -> None:
    error = await _fails("import os\nwhile True:\n    os.fork()", audit=False)
    assert "BlockingIOError" in error.message


@ROOT_ONLY
async def test_without_the_audit_hook_no_shell_or_socket_module_is_reachable() -> None:
    result = await run_python("import os\nreturn os.system('id')", None, LIMITS, audit=False)
    assert result.output != 0
    error = await _fails("import socket", audit=False)
    assert "ModuleNotFoundError" in error.message


async def test_the_event_loop_keeps_running_while_code_loops() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    try:
        await _fails("while True:\n    pass")
    finally:
        ticker.cancel()
    assert ticks >= 10
