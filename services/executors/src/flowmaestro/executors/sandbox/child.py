"""The program that runs inside the Python sandbox's child process.

Started as `python -I -S -B child.py` with an empty environment; reads one JSON request
on stdin and writes one JSON reply on stdout. It uses only the standard library and
must not import FlowMaestro. Before any user code runs it, in order: compiles the code,
preloads those of the modules user code may import that the code names (importing
anything later is refused, and loading all of them would slow every run), jails itself
in an empty directory as an unprivileged user of its own (when started as root), lowers
its priority and resource limits, and installs an audit hook refusing file, process,
socket and import events.
The reply goes to a copy of the original standard output; the user's code writing to
`sys.__stdout__` or file descriptor 1 reaches standard error, which the parent reads
under the same byte cap.
"""

import ast
import io
import json
import math
import os
import resource
import sys
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

__all__ = ["main"]

# Tuples, and captured by the audit hook's closure when it is made: rebinding these
# names from user code changes nothing the hook sees.
ALLOWED_MODULES = (
    "base64",
    "bisect",
    "collections",
    "copy",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "operator",
    "random",
    "re",
    "statistics",
    "string",
    "textwrap",
    "typing",
    "unicodedata",
)

BLOCKED_PREFIXES = (
    "open",
    "import",
    "os.",
    "posix.",
    "socket.",
    "subprocess.",
    "_posixsubprocess",
    "ctypes.",
    "mmap.",
    "shutil.",
    "pty.",
    "fcntl.",
    "resource.",
    "signal.",
    "sys.addaudithook",
    "sys.setprofile",
    "sys.settrace",
    "sys._getframe",
    "sys.unraisablehook",
    "code.__new__",
    "function.__new__",
    "object.__setattr__",
    "object.__delattr__",
    "gc.",
    "builtins.input",
    "cpython.",
    "urllib.",
    "webbrowser.",
    "glob.",
)

MIB = 1024 * 1024


def reply(out: BinaryIO, **fields: Any) -> NoReturn:
    """Write the one JSON reply and leave without running interpreter clean-up."""
    out.write(json.dumps(fields).encode())
    out.flush()
    os._exit(0)


def vm_bytes() -> int:
    """The process's current virtual memory size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def jail(workdir: str, uid: int) -> None:
    """Confine the process to the empty `workdir` as `uid`, with no supplementary groups."""
    os.chroot(workdir)
    os.chdir("/")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def limit(seconds: float, memory_bytes: int) -> None:
    """Lower every resource limit that matters; they cannot be raised again."""
    cpu = max(1, math.ceil(seconds))
    for name, value in (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_NPROC, 1),
        (resource.RLIMIT_NOFILE, 16),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = value + 1 if name == resource.RLIMIT_CPU else value
        resource.setrlimit(name, (value, hard))


def make_audit(prefixes: tuple[str, ...]) -> Callable[[str, tuple[Any, ...]], None]:
    """An audit hook refusing every event starting with one of `prefixes`.

    The tuple lives only in the hook's closure, and the hook itself only in the
    interpreter's list of hooks, so user code can neither rebind nor change it.
    """
    blocked = tuple(prefixes)

    def audit(event: str, _args: tuple[Any, ...]) -> None:
        if event.startswith(blocked):
            raise PermissionError(f"{event} is not allowed in the sandbox")

    return audit


def describe(exc: BaseException) -> str:
    """`Type: message (line N)` for an exception raised by the user's code."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<code>":
            line = frame.lineno - 1 if frame.lineno else None
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {exc}{where}"


def named_modules(program: str) -> set[str]:
    """The top-level modules `program` imports by name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(program)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def main() -> None:
    """Run one request; every outcome is a JSON reply."""
    request = json.loads(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    body = "".join(f"    {line}\n" for line in request["code"].splitlines()) or "    pass\n"
    source = f"def __main__(input):\n{body}"
    try:
        program = compile(source, "<code>", "exec")
    except SyntaxError as exc:
        line = (exc.lineno or 1) - 1
        reply(out, ok=False, kind="code", error=f"SyntaxError: {exc.msg} (line {line})")
    wanted = named_modules(source)
    for name in ALLOWED_MODULES:
        if name in wanted:
            __import__(name)
    namespace: dict[str, Any] = {"__name__": "__sandbox__"}
    exec(program, namespace)
    memory = vm_bytes() + request["memory_mb"] * MIB
    if request.get("jail"):
        jail(request["workdir"], request["uid"])
    os.nice(10)
    limit(request["seconds"], memory)
    if request.get("audit", True):
        sys.addaudithook(make_audit(BLOCKED_PREFIXES))
    logs = io.StringIO()
    sys.stdout = sys.stderr = logs
    sys.stdin = io.StringIO()
    try:
        result = namespace["__main__"](request["input"])
    except MemoryError:
        reply(out, ok=False, kind="memory", error=f"memory limit of {request['memory_mb']} MB")
    except BaseException as exc:
        kind = "forbidden" if isinstance(exc, PermissionError) else "code"
        reply(out, ok=False, kind=kind, error=describe(exc), logs=logs.getvalue()[-10_000:])
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        reply(out, ok=False, kind="output", error=f"the result is not JSON: {exc}")
    except MemoryError:
        reply(out, ok=False, kind="memory", error=f"memory limit of {request['memory_mb']} MB")
    reply(out, ok=True, output=json.loads(text), logs=logs.getvalue()[-10_000:])


if __name__ == "__main__":
    main()
