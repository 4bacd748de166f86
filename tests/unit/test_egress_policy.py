"""The egress policy refuses non-public targets unless allowed and the platform's own
endpoints always; answers' statuses map to retryable or terminal errors."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from flowmaestro.executors.egress import (
    ALLOW_ENV,
    ALLOW_ENV_OLD,
    DENY_ENV,
    EGRESS_KIND,
    HttpReply,
    resolve,
    send,
)
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.web import raise_for_status, retry_after_seconds

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fec0::1",
    "fd00::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",
    "::127.0.0.1",
    "::ffff:0:808:808",
    "64:ff9b::7f00:1",
    "64:ff9b::808:808",
    "64:ff9b:1::1",
    "2002:7f00:1::",
    "2002:808:808::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "localhost",
    "2130706433",
]


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator allow-list, no platform endpoints from the environment."""
    for name in (ALLOW_ENV, ALLOW_ENV_OLD, DENY_ENV, "FLOWMAESTRO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FLOWMAESTRO_NATS_URL", raising=False)


@pytest.mark.parametrize("host", REFUSED)
async def test_non_public_and_ipv4_embedding_targets_are_refused(
    host: str, no_allow_list: None
) -> None:
    with pytest.raises(TerminalNodeError) as caught:
        await resolve(host, 80)
    assert caught.value.kind == EGRESS_KIND
    assert "refusing" in caught.value.message


@pytest.mark.parametrize("host", ["", "/var/run/postgresql", "/tmp/.s.PGSQL.5432", "@abstract"])
async def test_unix_sockets_and_empty_hosts_are_refused(host: str, no_allow_list: None) -> None:
    with pytest.raises(TerminalNodeError) as caught:
        await resolve(host, 5432)
    assert caught.value.kind == EGRESS_KIND


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/"])
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(TerminalNodeError) as caught:
        await send("GET", url)
    assert caught.value.kind == "url"


async def test_public_addresses_pass_and_the_allow_list_opens_private_ones(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await resolve("93.184.216.34", 443) == "93.184.216.34"
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1, 10.0.0.0/8")
    assert await resolve("127.0.0.1", 9) == "127.0.0.1"
    assert await resolve("10.9.9.9", 80) == "10.9.9.9"
    # the mapped form reaches the same host; a NAT64 or 6to4 form reaches a relay
    assert await resolve("::ffff:127.0.0.1", 9) == "::ffff:127.0.0.1"
    for refused in ("192.168.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"):
        with pytest.raises(TerminalNodeError):
            await resolve(refused, 80)


async def test_the_older_allow_list_name_still_works(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV_OLD, "127.0.0.1")
    assert await resolve("127.0.0.1", 9) == "127.0.0.1"


async def test_the_platforms_own_endpoints_are_refused_even_when_allow_listed(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.0/8,::1,10.0.0.0/8")
    monkeypatch.setenv("FLOWMAESTRO_DATABASE_URL", "postgresql://app@localhost:6543/fm")
    monkeypatch.setenv("FLOWMAESTRO_NATS_URL", "nats://127.0.0.1:14222")
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_PORT", "18000")
    monkeypatch.setenv(DENY_ENV, "10.0.0.5:9090")
    refused = [
        ("127.0.0.1", 6543),
        ("localhost", 6543),
        ("127.0.0.2", 6543),  # a loopback-bound service answers on all of 127/8
        ("::ffff:127.0.0.1", 6543),
        ("::1", 14222),
        ("0.0.0.0", 14222),
        ("127.0.0.1", 18000),
        ("10.0.0.5", 9090),
    ]
    for host, port in refused:
        with pytest.raises(TerminalNodeError) as caught:
            await resolve(host, port)
        assert "platform's own service" in caught.value.message, (host, port)
    assert await resolve("127.0.0.1", 6544) == "127.0.0.1"
    assert await resolve("10.0.0.6", 9090) == "10.0.0.6"


async def test_a_service_bound_to_every_address_is_refused_on_this_machines_addresses(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "0.0.0.0/0,::/0")
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_HOST", "0.0.0.0")
    monkeypatch.setenv("FLOWMAESTRO_GATEWAY_PORT", "18001")
    own = {str(i[4][0]) for i in socket.getaddrinfo(socket.gethostname(), None)} | {"127.0.0.1"}
    for address in own:
        with pytest.raises(TerminalNodeError) as caught:
            await resolve(address, 18001)
        assert "platform's own service" in caught.value.message
    assert await resolve("93.184.216.34", 18001) == "93.184.216.34"


async def test_a_bad_allow_list_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1,not-a-network")
    with pytest.raises(TerminalNodeError) as caught:
        await resolve("127.0.0.1", 80)
    assert ALLOW_ENV in caught.value.message and "not-a-network" in caught.value.message


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(later)
    assert seconds is not None and 25 < seconds <= 30


def _reply(status: int, headers: dict[str, str] | None = None) -> HttpReply:
    return HttpReply(status, httpx.Headers(headers or {}), b"nope", "http://x")


def test_status_mapping() -> None:
    with pytest.raises(RetryableNodeError) as caught:
        raise_for_status(_reply(429, {"Retry-After": "12"}), "GET x")
    assert caught.value.retry_after == 12.0 and caught.value.kind == "http_429"
    with pytest.raises(RetryableNodeError):
        raise_for_status(_reply(502), "GET x")
    with pytest.raises(TerminalNodeError):
        raise_for_status(_reply(403), "GET x")
    raise_for_status(_reply(404), "GET x", fail_on_4xx=False)
    raise_for_status(_reply(200), "GET x")
