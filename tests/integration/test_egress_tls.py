"""HTTPS through the egress policy connects to the checked address yet verifies the
server's certificate against the name in the URL (SNI), as an unpinned client would."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flowmaestro.executors.egress import ALLOW_ENV, send
from flowmaestro.executors.errors import RetryableNodeError
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration


@pytest.fixture
async def https_localhost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only `localhost` (trusted
    through `SSL_CERT_FILE`); yields its port and the SNI names it was asked for."""
    cert, key = self_signed(tmp_path, ["localhost"])
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1,::1")
    asked: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def record(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        asked.append(name or "")

    context.sni_callback = record

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], asked
    finally:
        server.close()


async def test_the_certificate_is_checked_against_the_name(
    https_localhost: tuple[int, list[str]],
) -> None:
    port, asked = https_localhost
    reply = await send("GET", f"https://localhost:{port}/")
    assert reply.status == 200 and reply.body == b"ok"
    assert reply.url == f"https://localhost:{port}/"
    assert asked == ["localhost"]
    # By address the name in the certificate does not match, so the same server is refused.
    with pytest.raises(RetryableNodeError) as caught:
        await send("GET", f"https://127.0.0.1:{port}/")
    assert (
        "CERTIFICATE_VERIFY_FAILED" in caught.value.message or "certificate" in caught.value.message
    )
