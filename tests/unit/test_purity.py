"""`flowmaestro.events` is pure: it imports nothing that does I/O, reads clocks or draws
random numbers."""

from __future__ import annotations

import ast
from pathlib import Path

import flowmaestro.events

PACKAGE = Path(flowmaestro.events.__file__).parent
FORBIDDEN_MODULES = {
    "asyncio",
    "nats",
    "socket",
    "subprocess",
    "os",
    "random",
    "secrets",
    "uuid",
    "time",
    "threading",
    "multiprocessing",
    "http",
    "urllib",
    "requests",
    "httpx",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "logging",
    "structlog",
    "sqlite3",
    "asyncpg",
    "anyio",
}
FORBIDDEN_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "time_ns",
    "monotonic",
    "perf_counter",
    "uuid4",
    "uuid1",
    "random",
    "randint",
    "urandom",
    "open",
    "print",
    "input",
}


def _sources() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    return files


def test_no_impure_imports() -> None:
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"


def test_no_clock_random_or_io_calls() -> None:
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"
