"""Container health check: `healthcheck.py URL` passes when the URL answers 2xx;
`healthcheck.py` alone passes when a NATS server in FLOWMAESTRO_NATS_URL (one URL or
several, comma-separated) accepts a TCP connection (the scheduler and executors serve no
HTTP). Standard library only."""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from urllib.parse import urlsplit


def _http(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as response:
        return 200 <= response.status < 300


def _nats() -> bool:
    urls = os.environ.get("FLOWMAESTRO_NATS_URL", "nats://127.0.0.1:4222").split(",")
    for url in urls:
        parts = urlsplit(url.strip() if "://" in url else f"nats://{url.strip()}")
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 3):
                return True
        except OSError:
            continue
    return False


def main() -> int:
    """Exit 0 when healthy, 1 otherwise."""
    try:
        healthy = _http(sys.argv[1]) if len(sys.argv) > 1 else _nats()
    except OSError:
        healthy = False
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
