"""Only the egress package opens connections for nodes: a scan of the executors package's
source finds no HTTP client, SDK client, SMTP session, database connection, pool or socket
made anywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flowmaestro.executors

PACKAGE = Path(flowmaestro.executors.__file__).parent
EGRESS = PACKAGE / "egress"

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


def violations(source: str, where: str) -> list[str]:
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
                if any(module == m or module.startswith(m + ".") for m in FORBIDDEN_IMPORTS):
                    found.append(f"{where}:{node.lineno}: imports {module}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func, aliases) or ""
            if isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_METHODS:
                found.append(f"{where}:{node.lineno}: calls {node.func.attr}")
            elif any(
                name.startswith(f) if f.endswith(".") else name == f for f in FORBIDDEN_CALLS
            ) or name.endswith(("AsyncConnectionPool", "ConnectionPool")):
                found.append(f"{where}:{node.lineno}: calls {name}")
    return sorted(set(found))


def test_no_module_outside_egress_opens_a_connection() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if EGRESS in path.parents:
            continue
        found += violations(path.read_text(), str(path.relative_to(PACKAGE)))
    assert not found, "connections opened outside flowmaestro.executors.egress:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "snippet",
    [
        "import httpx\nhttpx.AsyncClient()",
        "from httpx import AsyncClient as C\nC()",
        "import httpx\nasync def f():\n    await httpx.get('http://x')",
        "import openai\nopenai.AsyncOpenAI(api_key='k')",
        "from anthropic import AsyncAnthropic\nAsyncAnthropic()",
        "import psycopg\npsycopg.connect('host=x')",
        "import psycopg\nasync def f():\n    await psycopg.AsyncConnection.connect('')",
        "from psycopg_pool import AsyncConnectionPool\nAsyncConnectionPool('')",
        "import smtplib\nsmtplib.SMTP('h')",
        "from smtplib import SMTP_SSL\nSMTP_SSL('h')",
        "import socket\nsocket.create_connection(('h', 1))",
        "import asyncio\nasyncio.open_connection('h', 1)",
        "async def f(loop):\n    await loop.create_connection(object, 'h', 1)",
        "import urllib.request\nurllib.request.urlopen('http://x')",
        "import aiosmtplib",
        "import http.client\nhttp.client.HTTPConnection('h')",
    ],
)
def test_the_scan_catches_each_way_of_connecting(snippet: str) -> None:
    assert violations(snippet, "snippet"), snippet


def test_the_egress_package_is_where_connections_are_made() -> None:
    made = [
        v for path in sorted(EGRESS.rglob("*.py")) for v in violations(path.read_text(), path.name)
    ]
    assert any("httpx.AsyncClient" in v for v in made)
    assert any("openai.AsyncOpenAI" in v for v in made)
    assert any("AsyncConnectionPool" in v for v in made)
