"""The worker process of a `WorkerPool`: `python -m flowmaestro.workers MODULE NICE`.

Reads length-prefixed msgpack requests on stdin and answers each on the original stdout;
anything else written to stdout (a library's print) goes to stderr instead, so it cannot
corrupt a reply. Each task runs under an address-space limit of the memory it was given
on top of what the process already uses. The process dies with its parent.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import resource
import sys
from typing import Any, BinaryIO

from flowmaestro.workers import MIB, TaskFailed, decode, frame

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A worker stuck in a task must not outlive an executor that was killed.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, 9)
    if os.getppid() == 1:
        os._exit(0)


def _vm_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _run(module: Any, request: dict[str, Any]) -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = _vm_bytes() + int(request["memory_mb"]) * MIB
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        return {"ok": True, "value": module.handle(request["payload"])}
    except TaskFailed as exc:
        return {"ok": False, "kind": exc.kind, "message": exc.message}
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "out of memory"}
    except RecursionError:
        return {"ok": False, "kind": "memory", "message": "too deeply nested"}
    except Exception as exc:
        return {"ok": False, "kind": "error", "message": f"{type(exc).__name__}: {exc}"[:2000]}
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _send(out: BinaryIO, reply: dict[str, Any]) -> None:
    try:
        data = frame(reply)
    except Exception as exc:  # msgspec's EncodeError, or an integer too large
        data = frame({"ok": False, "kind": "output", "message": f"the result is not JSON: {exc}"})
    out.write(data)
    out.flush()


def main() -> None:
    """Serve tasks until stdin closes."""
    _die_with_parent()
    os.nice(int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    module = importlib.import_module(sys.argv[1])
    prepare = getattr(module, "prepare", None)
    if prepare is not None:
        prepare()
    _send(replies, {"ready": True})
    while True:
        header = requests.read(4)
        if len(header) < 4:
            return
        request = decode(requests.read(int.from_bytes(header, "big")))
        _send(replies, _run(module, request))
        if prepare is not None:
            prepare()


if __name__ == "__main__":
    main()
