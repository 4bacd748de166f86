"""Container health check: `healthcheck.py URL` passes when the URL answers 2xx;
`healthcheck.py` alone passes when the NATS server in FLOWMAESTRO_NATS_URL accepts a
TCP connection (the scheduler and executors serve no HTTP). Standard library only."""

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
    first = os.environ.get("FLOWMAESTRO_NATS_URL", "nats://127.0.0.1:4222").split(",")[0]
    parts = urlsplit(first if "://" in first else f"nats://{first}")
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 3):
        return True


def main() -> int:
    """Exit 0 when healthy, 1 otherwise."""
    try:
        healthy = _http(sys.argv[1]) if len(sys.argv) > 1 else _nats()
    except OSError:
        healthy = False
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
