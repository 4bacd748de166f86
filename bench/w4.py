"""W4, the shape of real AI work: N executions `input → llm → output` started at once
through the gateway's HTTP API, against a fake OpenAI-compatible provider that streams 20
tokens over 2 seconds.

Every part runs in its own process, as `flowmaestro up` runs them: NATS, the scheduler,
the executors, the gateway (with its projector, on the PostgreSQL that
`FLOWMAESTRO_TEST_DATABASE_URL` names, default 127.0.0.1:5432, in a fresh database) and the
fake provider (so that its CPU is not counted as ours). The executors reach the fake
through the operator's endpoint (`FLOWMAESTRO_OPENAI_BASE_URL`) and the egress allow-list
(`FLOWMAESTRO_EGRESS_ALLOW=127.0.0.1`).

Reports, per N: how fast the starts were accepted, when the last execution was seen
completed through the API, CPU seconds per call of each service (from /proc) and each
service's peak RSS (sampled every 50 ms). Writes bench/results-w4.json.

    .venv/bin/python bench/w4.py 200 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from flowmaestro.runtime import EmbeddedNats, connect, ensure_topology, free_port
from flowmaestro.runtime.embedded import die_with_parent

HERE = Path(__file__).resolve().parent
TOKENS = 20
STREAM_SECONDS = 2.0
PASSWORD = "bench-passw0rd"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

WORKFLOW = {
    "nodes": {
        "in": {
            "id": "in",
            "type": "input",
            "position": {"x": 0, "y": 0},
            "data": {"schema": {"q": {"type": "string", "required": True}}},
        },
        "chat": {
            "id": "chat",
            "type": "llm",
            "position": {"x": 200, "y": 0},
            "data": {"provider": "openai", "model": "gpt-4o-mini", "prompt": "${inputs.q}"},
        },
        "out": {
            "id": "out",
            "type": "output",
            "position": {"x": 400, "y": 0},
            "data": {"output": "${chat.output.text}"},
        },
    },
    "edges": [
        {"id": "e1", "source": "in", "target": "chat"},
        {"id": "e2", "source": "chat", "target": "out"},
    ],
}


# --- the fake provider (its own process) ------------------------------------------------


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    line = b"data: " + data + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(line), line)


async def _serve_provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 keep-alive: every request is a chat completion, streamed token by token."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1}
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = json.loads(await reader.readexactly(length) or b"{}")
            chunk = {**base, "model": body.get("model", "fake")}
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
            )
            delta = {"index": 0, "delta": {"role": "assistant", "content": ""}}
            writer.write(_sse({**chunk, "choices": [{**delta, "finish_reason": None}]}))
            await writer.drain()
            for i in range(TOKENS):
                await asyncio.sleep(STREAM_SECONDS / TOKENS)
                delta = {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}
                writer.write(_sse({**chunk, "choices": [delta]}))
                await writer.drain()
            done = {"index": 0, "delta": {}, "finish_reason": "stop"}
            usage = {"prompt_tokens": 5, "completion_tokens": TOKENS, "total_tokens": TOKENS + 5}
            writer.write(_sse({**chunk, "choices": [done]}))
            writer.write(_sse({**chunk, "choices": [], "usage": usage}))
            writer.write(_sse("[DONE]") + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def fake_provider() -> None:
    """Serve on a free 127.0.0.1 port; print the port on stdout."""
    server = await asyncio.start_server(_serve_provider, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# --- measuring services -----------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and of its children that have been waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def _rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


class Sampler:
    """Samples every service's RSS in a thread; keeps the peak of each and of their sum."""

    def __init__(self, pids: dict[str, int], every: float = 0.05) -> None:
        self.pids = pids
        self.every = every
        self.peak: dict[str, int] = dict.fromkeys(pids, 0)
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            total = 0
            for name, pid in self.pids.items():
                with contextlib.suppress(OSError):
                    rss = _rss_bytes(pid)
                    self.peak[name] = max(self.peak[name], rss)
                    total += rss
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.every)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each service."""
        return {name: _cpu_seconds(pid) for name, pid in self.pids.items()}

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the stack --------------------------------------------------------------------------


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=out, env={**os.environ, **env}, preexec_fn=die_with_parent
        )


def _role(role: str, nats_url: str, env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "flowmaestro.cli.main", "--nats", nats_url, role]
    return _spawn(command, env, tmp / f"{role}.log")


def _admin_url() -> str:
    return (
        os.environ.get("FLOWMAESTRO_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[str]:
    admin = _admin_url()
    name = f"fm_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.contextmanager
def _terminating(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the gateway exited")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/health", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the gateway did not start")


# --- one measurement --------------------------------------------------------------------


async def _count(client: httpx.AsyncClient, headers: dict[str, str], status: str) -> int:
    response = await client.get(
        "/api/executions", params={"status": status, "limit": 1}, headers=headers
    )
    response.raise_for_status()
    return int(response.json()["data"]["pagination"]["total"])


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], workflow_id: str, n: int, sampler: Sampler
) -> dict[str, Any]:
    """Start `n` executions at once, wait for all to complete; returns the figures."""
    done_before = await _count(client, headers, "completed")
    cpu_before = sampler.cpu()
    begin = time.perf_counter()

    retries = 0

    async def start(i: int) -> None:
        nonlocal retries
        body = {"workflow_id": workflow_id, "inputs": {"q": f"question {i}"}}
        response = await client.post("/api/workflows/execute", json=body, headers=headers)
        while response.status_code == 503 and retries < 20 * n:  # "try again shortly"
            retries += 1
            await asyncio.sleep(0.5)
            response = await client.post("/api/workflows/execute", json=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"start refused: {response.status_code} {response.text}")

    await asyncio.gather(*(start(i) for i in range(n)))
    started = time.perf_counter() - begin
    while True:
        done = await _count(client, headers, "completed") - done_before
        if done >= n:
            break
        if failed := await _count(client, headers, "failed"):
            raise RuntimeError(f"{failed} executions failed")
        if time.perf_counter() - begin > 600:
            raise RuntimeError(f"only {done} of {n} completed in 600 s")
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - begin
    cpu_after = sampler.cpu()
    return {
        "n": n,
        "starts_s": round(started, 2),
        "starts_per_s": round(n / started, 1),
        "starts_retried": retries,
        "completed_s": round(elapsed, 2),
        "cpu_ms_per_call": {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / n, 2) for name in cpu_after
        },
    }


async def bench(sizes: list[int], profile: Path | None = None) -> dict[str, Any]:
    """Start the stack once per size (a fresh stack each time), run W4, stop it."""
    runs = []
    for n in sizes:
        runs.append(await _one_stack(n, profile))
    return {
        "tokens": TOKENS,
        "stream_seconds": STREAM_SECONDS,
        "cpus": os.cpu_count(),
        "runs": runs,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _print_logs(folder: Path) -> None:
    for log in sorted(folder.glob("*.log")):
        print(f"--- {log.name}", *log.read_text().splitlines()[-20:], sep="\n")


async def _one_stack(n: int, profile: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fm-w4-") as folder:
        tmp = Path(folder)
        server = EmbeddedNats(tmp / "nats").start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            async with _database() as database_url:
                return await _run_stack(n, tmp, server, database_url, procs, profile)
        except BaseException:
            _print_logs(tmp)  # what the services said, before the folder goes
            raise
        finally:
            with _terminating(procs):
                pass
            server.stop()


@contextlib.contextmanager
def _profiling(folder: Path | None, pids: dict[str, int], n: int) -> Iterator[None]:
    """py-spy flame graphs of the gateway, scheduler and executors while measuring."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    recorders = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--nonblocking",
                "--pid",
                str(pids[name]),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(folder / f"{name}-{n}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("gateway", "scheduler", "executors")
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait(30)


async def _run_stack(
    n: int,
    tmp: Path,
    server: EmbeddedNats,
    database_url: str,
    procs: list[subprocess.Popen[bytes]],
    profile: Path | None,
) -> dict[str, Any]:
    from flowmaestro.gateway.commands import migrate_database

    nc = await connect(server.url, name="bench-w4")
    from flowmaestro.events import CATALOGUE

    await ensure_topology(nc.jetstream(), CATALOGUE)
    await nc.close()
    await migrate_database(database_url)

    provider = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, __file__, "--fake-provider"],
        stdout=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    procs.append(provider)
    assert provider.stdout is not None
    provider_port = int(provider.stdout.readline())
    gateway_port = free_port()
    env = {
        "FLOWMAESTRO_LOG_LEVEL": "WARNING",
        "FLOWMAESTRO_DATABASE_URL": database_url,
        "FLOWMAESTRO_GATEWAY_HOST": "127.0.0.1",
        "FLOWMAESTRO_GATEWAY_PORT": str(gateway_port),
        "FLOWMAESTRO_EGRESS_ALLOW": "127.0.0.1",
        "FLOWMAESTRO_OPENAI_BASE_URL": f"http://127.0.0.1:{provider_port}/v1",
        "OPENAI_API_KEY": "sk-bench",
        # One tenant runs all N at once; its default cap (128 per node type) would queue them.
        "FLOWMAESTRO_TENANT_CONCURRENCY": "llm=1024",
    }
    services = {role: _role(role, server.url, env, tmp) for role in ("scheduler", "executors")}
    services["gateway"] = _role("gateway", server.url, env, tmp)
    procs.extend(services.values())
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    await _wait_http(gateway_url, services["gateway"])
    pids = {name: proc.pid for name, proc in services.items()}
    assert server.process is not None
    pids["nats"] = server.process.pid
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=gateway_url, limits=limits, timeout=120) as client:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        response = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"}
        )
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {response.json()['data']['token']}"}
        response = await client.post(
            "/api/workflows", json={"name": "w4", "definition": WORKFLOW}, headers=headers
        )
        if response.status_code != 201:
            raise RuntimeError(f"workflow refused: {response.text}")
        workflow_id = response.json()["data"]["id"]
        with Sampler(pids) as sampler:
            await measure(client, headers, workflow_id, 5, sampler)  # warm-up
            rss_before = dict(sampler.peak)
            with _profiling(profile, pids, n):
                result = await measure(client, headers, workflow_id, n, sampler)
            result["rss_idle_mb"] = {k: round(v / 2**20) for k, v in rss_before.items()}
        result["rss_peak_mb"] = {k: round(v / 2**20) for k, v in sampler.peak.items()}
        result["rss_peak_total_mb"] = round(sampler.peak_total / 2**20)
    return result


def table(results: dict[str, Any]) -> str:
    """The figures as a table."""
    names = ("gateway", "scheduler", "executors", "nats")
    lines = [
        f"W4: input → llm → output, fake provider streaming {results['tokens']} tokens "
        f"over {results['stream_seconds']:.0f} s",
        f"  {'N':>5}  {'starts/s':>8}  {'all done':>8}  "
        + "  ".join(f"{n + ' ms/call':>17}" for n in names)
        + "  "
        + "  ".join(f"{n + ' MB':>12}" for n in names)
        + f"  {'total MB':>8}",
    ]
    for run in results["runs"]:
        cpu, rss = run["cpu_ms_per_call"], run["rss_peak_mb"]
        lines.append(
            f"  {run['n']:>5}  {run['starts_per_s']:>8.0f}  {run['completed_s']:>7.1f}s  "
            + "  ".join(f"{cpu[n]:>17.1f}" for n in names)
            + "  "
            + "  ".join(f"{rss[n]:>12}" for n in names)
            + f"  {run['rss_peak_total_mb']:>8}"
        )
    return "\n".join(lines)


def main() -> int:
    """Run W4 for each N given (default 200 and 1000)."""
    parser = argparse.ArgumentParser(description="FlowMaestro W4 benchmark")
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 1000])
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="write py-spy profiles of the services to DIR"
    )
    parser.add_argument("--fake-provider", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    if args.fake_provider:
        asyncio.run(fake_provider())
        return 0
    results = asyncio.run(bench(args.sizes, args.profile))
    print(table(results))
    (HERE / "results-w4.json").write_text(json.dumps(results, indent=2) + "\n")
    print("wrote bench/results-w4.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
