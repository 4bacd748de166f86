"""SMTP for nodes: a connection to the checked address of the server, with TLS still
verified against the server's name."""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Any

from flowmaestro.executors.egress.policy import resolve

__all__ = ["SmtpTarget", "open_smtp", "smtp_target"]


class _Pinned(smtplib.SMTP):
    """Connects to the address checked beforehand instead of looking the name up again."""

    pinned_address = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        del host  # still used by the caller for TLS; the socket goes to the checked address
        return socket.create_connection((self.pinned_address, port), timeout)


class _PinnedTls(smtplib.SMTP_SSL, _Pinned):
    """Implicit TLS over the pinned connection."""


class SmtpTarget:
    """A server checked by the egress policy: its name, checked address and port."""

    def __init__(self, host: str, address: str, port: int) -> None:
        self.host = host
        self.address = address
        self.port = port


async def smtp_target(host: str, port: int) -> SmtpTarget:
    """Resolve and check the server (before any thread connects to it)."""
    return SmtpTarget(host, await resolve(host, port), port)


def open_smtp(
    target: SmtpTarget, *, implicit_tls: bool, context: ssl.SSLContext, timeout: float
) -> smtplib.SMTP:
    """A connected SMTP session to the checked address (blocking: call it in a thread)."""
    smtp: Any = (
        _PinnedTls(timeout=timeout, context=context) if implicit_tls else _Pinned(timeout=timeout)
    )
    smtp.pinned_address = target.address
    smtp._host = target.host  # the name TLS verifies (set only by a constructor that connects)
    smtp.connect(target.host, target.port)
    return smtp
