"""`flowmaestro batch`: run a stored workflow once per CSV row through the gateway, with a
progress bar; the gateway drives the batch, so it carries on if this command stops."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from flowmaestro.cli.commands import CommandError

__all__ = ["DEV_EMAIL", "DEV_PASSWORD", "batch", "progress_bar"]

DEV_EMAIL = "test@flowmaestro.dev"
DEV_PASSWORD = "testpassword123"
"""The account a development stack makes (`flowmaestro up`), used when no other is given."""

_ENDED = ("completed", "cancelled")
_ORDER = ("completed", "failed", "cancelled", "running", "pending", "paused", "queued")


class _Unreachable(CommandError):
    """The gateway did not answer, or answered that it cannot now (5xx)."""


class _Gateway:
    """A tiny JSON client of the gateway's API (standard library only)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        raw: bool = False,
    ) -> Any:
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                data = response.read()
        except urllib.error.HTTPError as exc:
            error = _Unreachable if exc.code >= 500 else CommandError
            raise error(_error_text(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise _Unreachable(f"cannot reach the gateway at {self.url}: {exc}") from None
        return data if raw else json.loads(data)["data"]

    def sign_in(self, email: str, password: str) -> None:
        body = json.dumps({"email": email, "password": password}).encode()
        self.token = self.request("POST", "/api/auth/login", body)["token"]


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
    except (ValueError, KeyError, TypeError):
        return f"the gateway answered {exc.code}"
    lines = [f"{error['message']} ({error['code']})"]
    details = error.get("details")
    if isinstance(details, list):
        for item in details[:20]:
            if isinstance(item, dict):
                where = item.get("field") or ""
                lines.append(f"  - {where}: {item.get('message')}" if where else f"  - {item}")
    return "\n".join(lines)


def progress_bar(batch: dict[str, Any], width: int = 30) -> str:
    """`[#####.....]  12/20  completed 10  failed 2  running 8` (counts that are not 0)."""
    total = max(1, int(batch["total"]))
    done = int(batch["ended"])
    filled = min(width, done * width // total)
    counts = batch["counts"]
    parts = [f"{name} {counts[name]}" for name in _ORDER if counts.get(name)]
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{batch['total']}  " + "  ".join(parts)


def _poll(gateway: _Gateway, path: str, every: float, patience: float = 120.0) -> Any:
    """GET `path`, waiting out a gateway that restarts (the batch goes on without it)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return gateway.request("GET", path)
        except _Unreachable:
            if time.monotonic() > deadline:
                raise
            time.sleep(max(every, 0.5))


def _token(gateway: _Gateway) -> None:
    token = os.environ.get("FLOWMAESTRO_TOKEN")
    if token:
        gateway.token = token
        return
    gateway.sign_in(
        os.environ.get("FLOWMAESTRO_EMAIL", DEV_EMAIL),
        os.environ.get("FLOWMAESTRO_PASSWORD", DEV_PASSWORD),
    )


def batch(
    gateway_url: str,
    workflow_id: str,
    csv_path: Path,
    concurrency: int | None = None,
    version: int | None = None,
    output: Path | None = None,
    detach: bool = False,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    every: float = 0.5,
) -> int:
    """Start the batch, draw its progress until it ends, and write the results to `output`
    (CSV or JSON Lines, by its extension). Exit code 0 when every row completed, 1 when
    any failed, 3 when the batch was cancelled. Ctrl-C cancels the batch."""
    try:
        body = csv_path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{csv_path}: {exc.strerror}") from exc
    gateway = _Gateway(gateway_url)
    _token(gateway)
    query = {k: v for k, v in (("concurrency", concurrency), ("version", version)) if v}
    path = f"/api/workflows/{urllib.parse.quote(workflow_id, safe='')}/batch"
    if query:
        path += "?" + urllib.parse.urlencode(query)
    started = gateway.request("POST", path, body, content_type="text/csv")
    batch_id = started["id"]
    print(f"batch {batch_id}: {started['total']} rows, {started['concurrency']} at once", file=out)
    if detach:
        return 0
    live = err.isatty()
    current = started
    last = ""
    try:
        while current["status"] not in _ENDED:
            line = progress_bar(current)
            if line != last:
                err.write(f"\r{line}\x1b[K" if live else f"{line}\n")
                err.flush()
                last = line
            time.sleep(every)
            current = _poll(gateway, f"/api/batches/{batch_id}", every)
    except KeyboardInterrupt:
        gateway.request("POST", f"/api/batches/{batch_id}/cancel", b"")
        err.write(f"\ncancelling batch {batch_id}\n")
        return 130
    err.write(f"\r{progress_bar(current)}\x1b[K\n" if live else f"{progress_bar(current)}\n")
    if output is not None:
        kind = "csv" if output.suffix.lower() == ".csv" else "jsonl"
        data = gateway.request("GET", f"/api/batches/{batch_id}/results?format={kind}", raw=True)
        output.write_bytes(data)
        print(f"results written to {output}", file=out)
    counts = current["counts"]
    print(
        f"batch {batch_id} {current['status']}: {counts['completed']} completed, "
        f"{counts['failed']} failed, {counts['cancelled']} cancelled",
        file=out,
    )
    if current["status"] == "cancelled":
        return 3
    return 1 if counts["failed"] else 0
