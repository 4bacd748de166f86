"""JavaScript tasks inside a worker process: one fresh V8 isolate per run.

The process runs one isolate at a time on one thread (V8 contexts used from several
threads at once crash the process). The next isolate is made while the worker is idle,
so a run does not wait for it. `WebAssembly` is deleted from the global object before
user code unless the node asked for it.
"""

from __future__ import annotations

import json
from typing import Any

from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSTimeoutException,
    MiniRacer,
)

from flowmaestro.workers import MIB, TaskFailed

__all__ = ["handle", "prepare"]

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

_next: MiniRacer | None = None
_used: list[MiniRacer] = []


def prepare() -> None:
    """Between runs: dispose of the last isolate and make the one the next run will use."""
    global _next
    while _used:
        _used.pop().close()
    if _next is None:
        _next = MiniRacer()


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line and ":" in line]
    return (named[-1] if named else lines[0] if lines else message).strip()


def handle(payload: dict[str, Any]) -> Any:
    """Run `payload["code"]` over `payload["input"]`; its JSON result as a value."""
    global _next
    racer, _next = _next or MiniRacer(), None
    seconds, memory_mb = float(payload["seconds"]), int(payload["memory_mb"])
    source = _WRAPPER.format(input=json.dumps(json.dumps(payload["input"])), code=payload["code"])
    try:
        if not payload.get("webassembly"):
            racer.eval("delete globalThis.WebAssembly")
        text = racer.eval(source, timeout_sec=seconds, max_memory=memory_mb * MIB)
    except JSTimeoutException as exc:
        raise TaskFailed("timeout", f"time limit of {seconds:g}s exceeded") from exc
    except JSOOMException as exc:
        raise TaskFailed("memory", f"memory limit of {memory_mb} MB exceeded") from exc
    except JSEvalException as exc:
        message = _first_line(str(exc))
        kind = "output" if "not JSON" in message or "circular" in message else "code"
        if "allocation failed" in message or "Invalid array length" in message:
            kind = "memory"
        raise TaskFailed(kind, message) from exc
    finally:
        _used.append(racer)  # closed by `prepare`, after the reply has gone
    if not isinstance(text, str):
        raise TaskFailed("output", "the code's result is not JSON")
    return json.loads(text)
