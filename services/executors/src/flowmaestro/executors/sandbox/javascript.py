"""JavaScript in a fresh V8 isolate per run: no modules, no network, no files."""

from __future__ import annotations

import asyncio
import json
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from flowmaestro.executors.sandbox.limits import Limits, SandboxError, SandboxResult

if TYPE_CHECKING:
    from py_mini_racer import MiniRacer

__all__ = ["run_javascript"]

_WRAPPER = """(function () {{
  const input = JSON.parse({input});
  const result = (function (input) {{
{code}
  }})(input);
  const text = JSON.stringify(result);
  if (text === undefined) {{
    throw new TypeError("the code returned " + typeof result + ", which is not JSON");
  }}
  return text;
}})()"""


@cache
def _callback_loop() -> asyncio.AbstractEventLoop:
    # V8 reports results through an event loop; one that lives as long as the process
    # also receives the late reports of terminated scripts, after their isolate is gone.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="v8-callbacks", daemon=True).start()
    return loop


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line and ":" in line]
    return (named[-1] if named else lines[0] if lines else message).strip()


def _evaluate(code: str, document: Any, limits: Limits) -> SandboxResult:
    # Imported on first use: loading V8 slows every executor's start.
    from py_mini_racer import mini_racer

    source = _WRAPPER.format(input=json.dumps(json.dumps(document)), code=code)
    with mini_racer(_callback_loop()) as racer:
        text = _eval(racer, source, limits)
    if not isinstance(text, str):
        raise SandboxError("output", "the code's result is not JSON")
    return SandboxResult(output=json.loads(text))


def _eval(racer: MiniRacer, source: str, limits: Limits) -> Any:
    from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

    try:
        return racer.eval(
            source, timeout_sec=limits.seconds, max_memory=limits.memory_mb * 1024 * 1024
        )
    except JSTimeoutException as exc:
        raise SandboxError("timeout", f"time limit of {limits.seconds:g}s exceeded") from exc
    except JSOOMException as exc:
        raise SandboxError("memory", f"memory limit of {limits.memory_mb} MB exceeded") from exc
    except JSEvalException as exc:
        message = _first_line(str(exc))
        kind = "output" if "not JSON" in message or "circular" in message else "code"
        if "allocation failed" in message or "Invalid array length" in message:
            kind = "memory"
        raise SandboxError(kind, message) from exc


async def run_javascript(code: str, document: Any, limits: Limits) -> SandboxResult:
    """Run `code` as the body of `function (input)`; return its JSON result.

    Evaluation happens off the event loop, so a busy script never blocks other nodes.
    """
    return await asyncio.to_thread(_evaluate, code, document, limits)
