"""The outgoing-HTTP guard refuses private targets unless allowed, and maps answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.web import HttpReply, check_target, raise_for_status, retry_after_seconds


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.8.9.10:8080/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "http://2130706433/",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWMAESTRO_HTTP_ALLOW", raising=False)
    with pytest.raises(TerminalNodeError) as caught:
        await check_target(httpx.URL(url))
    assert caught.value.kind == "forbidden_target"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/"])
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(TerminalNodeError):
        await check_target(httpx.URL(url))


async def test_public_addresses_pass_and_the_allow_list_opens_private_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWMAESTRO_HTTP_ALLOW", raising=False)
    assert await check_target(httpx.URL("https://93.184.216.34/")) == "93.184.216.34"
    monkeypatch.setenv("FLOWMAESTRO_HTTP_ALLOW", "127.0.0.1, 10.0.0.0/8")
    assert await check_target(httpx.URL("http://127.0.0.1:9/")) == "127.0.0.1"
    assert await check_target(httpx.URL("http://10.9.9.9/")) == "10.9.9.9"
    with pytest.raises(TerminalNodeError):
        await check_target(httpx.URL("http://192.168.0.1/"))


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
