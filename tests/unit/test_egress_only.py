"""Only the egress package opens connections for nodes: a scan of the executors package's
source finds no HTTP client, SDK client, SMTP session, database connection, pool or socket
made anywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowmaestro.executors
from flowmaestro.executors.egress.scan import violations

PACKAGE = Path(flowmaestro.executors.__file__).parent
EGRESS = PACKAGE / "egress"


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
