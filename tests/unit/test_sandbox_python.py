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


async def test_user_code_cannot_empty_the_audit_hooks_block_list() -> None:
    code = (
        "import sys\n"
        "child = sys.modules['__main__']\n"
        "child.BLOCKED_PREFIXES = ()\n"
        "child.make_audit = lambda prefixes: (lambda event, args: None)\n"
        "return open('/etc/hostname').read()"
    )
    error = await _fails(code)
    assert error.kind == "forbidden" and "open is not allowed" in error.message


async def test_writes_to_the_real_stdout_count_against_the_output_cap() -> None:
    code = "import sys\nwhile True:\n    sys.__stdout__.write('x' * 65536)"
    error = await _fails(code)
    assert error.kind == "output" and "wrote more than" in error.message


async def test_writes_to_the_real_stdout_under_the_cap_leave_the_reply_intact() -> None:
    result = await run_python("import sys\nsys.__stdout__.write('noise')\nreturn 5", None, LIMITS)
    assert result.output == 5


async def test_a_tenant_waits_its_turn_not_behind_another_tenants_queue() -> None:
    hog = "import time\nwhile True:\n    pass"
    slow = Limits(seconds=1.5, memory_mb=64)
    hogs = [asyncio.ensure_future(run_python(hog, None, slow, owner="a")) for _ in range(6)]
    await asyncio.sleep(0.3)
    began = asyncio.get_running_loop().time()
    assert (await run_python("return 1", None, LIMITS, owner="b")).output == 1
    assert asyncio.get_running_loop().time() - began < 1.2  # not behind a's six runs
    for outcome in await asyncio.gather(*hogs, return_exceptions=True):
        assert isinstance(outcome, SandboxError) and outcome.kind == "timeout"
