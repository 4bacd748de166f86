"""The check that only the egress package opens connections: an AST scan of source text.

It finds constructed HTTP, SDK, SMTP and database clients, pools, sockets and the modules
that make them. The unit test `test_egress_only` runs it over the executors package; the
plugin loader runs it (with `PLUGIN_EXTRA_CALLS`) over a node plugin's package before
importing its executor. It is a check of what code says, not a sandbox: it keeps every
node's connections on the path where the egress policy applies.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = [
    "FORBIDDEN_CALLS",
    "FORBIDDEN_IMPORTS",
    "FORBIDDEN_METHODS",
    "PLUGIN_API_MODULES",
    "PLUGIN_API_NAMES",
    "PLUGIN_EXTRA_CALLS",
    "PLUGIN_EXTRA_IMPORTS",
    "plugin_violations",
    "private_imports",
    "violations",
]

FORBIDDEN_CALLS = (
    "httpx.AsyncClient",
    "httpx.Client",
    "httpx.AsyncHTTPTransport",
    "httpx.HTTPTransport",
    "httpx.get",
    "httpx.post",
    "httpx.put",
    "httpx.delete",
    "httpx.request",
    "httpx.stream",
    "httpx2.",
    "httpcore.",
    "openai.AsyncOpenAI",
    "openai.OpenAI",
    "openai.AsyncAzureOpenAI",
    "anthropic.AsyncAnthropic",
    "anthropic.Anthropic",
    "psycopg.connect",
    "psycopg.AsyncConnection.connect",
    "psycopg.Connection.connect",
    "psycopg_pool.",
    "smtplib.SMTP",
    "smtplib.SMTP_SSL",
    "smtplib.LMTP",
    "socket.",
    "ssl.SSLSocket",
    "asyncio.open_connection",
    "asyncio.open_unix_connection",
    "urllib.request.",
    "http.client.",
)
"""Dotted names (or prefixes, ending in '.') a node module may not call."""

FORBIDDEN_METHODS = ("create_connection", "create_unix_connection", "sock_connect")
"""Methods that open sockets on whatever object (an event loop, a socket)."""

FORBIDDEN_IMPORTS = (
    "socket",
    "urllib.request",
    "http.client",
    "aiosmtplib",
    "asyncpg",
    "aiohttp",
    "requests",
    "urllib3",
    "httpcore",
    "httpx2",
    "psycopg_pool",
)
"""Modules a node module may not import at all."""


def _aliases(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def violations(
    source: str, where: str, extra_calls: tuple[str, ...] = (), extra_imports: tuple[str, ...] = ()
) -> list[str]:
    """What in `source` opens a connection other than through the egress package."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if isinstance(node, ast.ImportFrom):
                modules += [f"{node.module}.{a.name}" for a in node.names]
            for module in modules:
                if any(
                    module == m or module.startswith(m + ".")
                    for m in FORBIDDEN_IMPORTS + extra_imports
                ):
                    found.append(f"{where}:{node.lineno}: imports {module}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func, aliases) or ""
            if isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_METHODS:
                found.append(f"{where}:{node.lineno}: calls {node.func.attr}")
            elif any(
                name.startswith(f) if f.endswith(".") else name == f
                for f in FORBIDDEN_CALLS + extra_calls
            ) or name.endswith(("AsyncConnectionPool", "ConnectionPool")):
                found.append(f"{where}:{node.lineno}: calls {name}")
    return sorted(set(found))


PLUGIN_EXTRA_CALLS = ("__import__", "importlib.import_module", "importlib.__import__")
"""Also refused in plugins: imports by name, which would hide a forbidden module."""

PLUGIN_EXTRA_IMPORTS = (
    "httpx",
    "openai",
    "anthropic",
    "psycopg",
    "smtplib",
    "ssl",
    "ctypes",
    "subprocess",
    "importlib",
    "nats",
)
"""Also refused in plugins: the client libraries the egress package wraps, NATS, and ways
around the scan. A plugin reaches the network through `flowmaestro.executors.egress`."""

PLUGIN_API_MODULES = (
    "flowmaestro.events",
    "flowmaestro.executors.context",
    "flowmaestro.executors.errors",
    "flowmaestro.executors.egress",
)
"""The FlowMaestro modules (and their submodules) a plugin may import. The rest — the
runtime's NATS client, the secrets directory, the database — would reach past the node's
context and its owner's scope."""

PLUGIN_API_NAMES = frozenset(
    {
        "Deferred",
        "Executor",
        "Integration",
        "NodeContext",
        "NodeError",
        "NodeResult",
        "RetryableNodeError",
        "TerminalNodeError",
        "context",
        "errors",
        "egress",
    }
)
"""What a plugin may import from the package `flowmaestro.executors` itself."""


def _in_api(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in PLUGIN_API_MODULES)


def private_imports(source: str, where: str) -> list[str]:
    """Imports of FlowMaestro modules outside the plugin API."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "flowmaestro.executors":
            modules = [
                f"{node.module}.{a.name}" for a in node.names if a.name not in PLUGIN_API_NAMES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module.split(".")[0] == "flowmaestro" and not _in_api(module):
                found.append(f"{where}:{node.lineno}: imports {module} (not the plugin API)")
    return found


def plugin_violations(place: Path) -> list[str]:
    """Violations in a plugin's top-level package (a folder) or module (a file)."""
    found: list[str] = []
    for path in sorted(place.rglob("*.py")) if place.is_dir() else [place]:
        where = str(path.relative_to(place.parent))
        source = path.read_text(encoding="utf-8")
        found += violations(source, where, PLUGIN_EXTRA_CALLS, PLUGIN_EXTRA_IMPORTS)
        found += private_imports(source, where)
    return found
