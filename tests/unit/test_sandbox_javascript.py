"""The JavaScript sandbox: a fresh isolate per run, JSON in and out, limits enforced."""

from __future__ import annotations

import asyncio

import pytest

from flowmaestro.executors.sandbox import Limits, SandboxError, run_javascript

LIMITS = Limits(seconds=0.5, memory_mb=64)


async def test_json_in_json_out() -> None:
    code = "return {total: input.xs.reduce((a, b) => a + b, 0), quote: input.q}"
    result = await run_javascript(code, {"xs": [1, 2, 3], "q": 'it\'s "fine"'}, LIMITS)
    assert result.output == {"total": 6, "quote": 'it\'s "fine"'}


async def test_runs_do_not_share_globals() -> None:
    await run_javascript("globalThis.leak = 1; return 1", None, LIMITS)
    result = await run_javascript("return typeof leak", None, LIMITS)
    assert result.output == "undefined"


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        ("return require('fs').readFileSync('/etc/passwd', 'utf8')", "code", "require"),
        ("return fetch('http://127.0.0.1:22')", "code", "fetch is not defined"),
        ("const s = new WebSocket('ws://127.0.0.1:22'); return 1", "code", "WebSocket"),
        ("return process.binding('spawn_sync')", "code", "process is not defined"),
        ("while (true) { new Worker('x') }", "code", "Worker is not defined"),
        ("while (true) {}", "timeout", "time limit of 0.5s"),
        ("return new ArrayBuffer(10 * 2 ** 30).byteLength", "memory", "allocation failed"),
        ("const a = []; while (true) a.push(new Array(1e5).fill(1.5))", "memory", "64 MB"),
        ("return () => 1", "output", "not JSON"),
        ("return undefined", "output", "not JSON"),
        ("const a = {}; a.a = a; return a", "output", "circular"),
        ("return (", "code", "SyntaxError"),
        ("throw new Error('boom')", "code", "Error: boom"),
    ],
)
async def test_threats_fail_cleanly(code: str, kind: str, words: str) -> None:
    with pytest.raises(SandboxError) as caught:
        await run_javascript(code, None, LIMITS)
    assert caught.value.kind == kind
    assert words in caught.value.message


async def test_the_event_loop_keeps_running_while_code_loops() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    try:
        with pytest.raises(SandboxError):
            await run_javascript("while (true) {}", None, LIMITS)
    finally:
        ticker.cancel()
    assert ticks >= 10
