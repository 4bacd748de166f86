"""`flowmaestro up` and `down`: embedded NATS and PostgreSQL, topology, and the services,
each started as its own process (`python -m flowmaestro.<service>`) and never imported."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from flowmaestro.cli import processes
from flowmaestro.cli.database import AppDatabase, start_database_in_child
from flowmaestro.runtime.config import state_dir
from flowmaestro.runtime.embedded import EmbeddedNats, NatsCluster, die_with_parent, free_port
from flowmaestro.runtime.natsauth import load_or_create_credentials, server_authorization
from flowmaestro.runtime.service import STACK_FILE, StackNotFoundError, stack_value

__all__ = [
    "ClusterSizeError",
    "StackNotFoundError",
    "cluster_replicas",
    "down",
    "find_nats_url",
    "scheduler_count",
    "up",
    "use_operator_identity",
]

SERVICES = {
    "scheduler": "flowmaestro.scheduler",
    "executors": "flowmaestro.executors",
    "gateway": "flowmaestro.gateway",
}
"""Each service's NATS identity and module: the role name is the identity."""

SCHEDULERS_ENV = "FLOWMAESTRO_SCHEDULERS"


def scheduler_count(given: int | None = None) -> int:
    """How many scheduler processes `up` runs: `--schedulers N`, `FLOWMAESTRO_SCHEDULERS`,
    or 1. They share the executions (JetStream pins each partition of the log to one)."""
    count = given if given is not None else int(os.environ.get(SCHEDULERS_ENV) or 1)
    if count < 1:
        raise ValueError(f"--schedulers needs at least 1 process, not {count}")
    return count


def _role(instance: str) -> str:
    """The role of a service instance: `scheduler-2` is a `scheduler`."""
    return instance.rsplit("-", 1)[0] if instance not in SERVICES else instance


def _instances(schedulers: int) -> list[str]:
    """The processes `up` runs: one per role, the scheduler `schedulers` times."""
    extra = [f"scheduler-{n}" for n in range(2, schedulers + 1)]
    return [*SERVICES, *extra]


def find_nats_url(explicit: str | None = None) -> str:
    """The NATS URL: given, `FLOWMAESTRO_NATS_URL`, or the running stack's state folder."""
    return stack_value("nats_url", "FLOWMAESTRO_NATS_URL", explicit)


def use_operator_identity() -> None:
    """Without `FLOWMAESTRO_NATS_USER`, a CLI command speaks as the operator (`cli`) of the
    state folder's stack, whose password `up` keeps there."""
    if os.environ.get("FLOWMAESTRO_NATS_USER"):
        return
    path = state_dir() / "nats-credentials.json"
    try:
        password = json.loads(path.read_text())["cli"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    os.environ["FLOWMAESTRO_NATS_USER"] = "cli"
    os.environ["FLOWMAESTRO_NATS_PASSWORD"] = password


def _spawn(
    instance: str, home: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    log_file = open(home / f"{instance}.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", SERVICES[_role(instance)], *args],
        stdout=log_file,
        stderr=log_file,
        preexec_fn=die_with_parent,
        env=env,
    )


def _gateway_port() -> int:
    if port := os.environ.get("FLOWMAESTRO_GATEWAY_PORT"):
        return int(port)
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", 8000)) != 0:
            return 8000
    return free_port()


def _wait_for_http(url: str, child: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _service_env(
    base: dict[str, str], nats_url: str, passwords: dict[str, str] | None, role: str
) -> dict[str, str]:
    """The environment of one service: its own NATS identity, nobody else's."""
    env = {**base, "FLOWMAESTRO_NATS_URL": nats_url}
    env.pop("FLOWMAESTRO_NATS_USER", None)
    env.pop("FLOWMAESTRO_NATS_PASSWORD", None)
    if passwords is not None:
        env["FLOWMAESTRO_NATS_USER"] = role
        env["FLOWMAESTRO_NATS_PASSWORD"] = passwords[role]
    if first := base.get("FLOWMAESTRO_METRICS_PORT", "").strip():
        # one metrics port per service, from the one given: gateway, scheduler, executors
        ports = {r: int(first) + i for i, r in enumerate(_METRICS_ORDER)}
        env["FLOWMAESTRO_METRICS_PORT"] = str(ports[role])
        if role == "executors":  # no node may scrape (or flood) the other services' ports
            host = base.get("FLOWMAESTRO_METRICS_HOST", "127.0.0.1")
            others = [f"{host}:{p}" for r, p in ports.items() if r != role]
            deny = [d for d in base.get("FLOWMAESTRO_EGRESS_DENY", "").split(",") if d.strip()]
            env["FLOWMAESTRO_EGRESS_DENY"] = ",".join([*deny, *others])
    return env


_METRICS_ORDER = ("gateway", "scheduler", "executors")


def prepare_topology(nats_url: str) -> None:
    """Create or update the streams, consumers and buckets (`flowmaestro setup`)."""
    import asyncio

    from flowmaestro.events import CATALOGUE
    from flowmaestro.runtime import connect, ensure_topology
    from flowmaestro.runtime.topology import wait_for_jetstream

    async def prepare() -> None:
        nc = await connect(nats_url, name="flowmaestro-setup", persistent=False)
        try:
            await wait_for_jetstream(nc)  # a cluster elects its leaders first
            await ensure_topology(nc.jetstream(), CATALOGUE)
        finally:
            await nc.close()

    asyncio.run(prepare())


def _setup_in_child(nats_url: str) -> None:
    """`flowmaestro setup` in a child process, so the supervisor never loads a NATS client."""
    done = subprocess.run(
        [sys.executable, "-m", "flowmaestro.cli.main", "--nats", nats_url, "setup"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)


class ClusterSizeError(ValueError):
    """`--cluster N` that cannot work: too few servers, or more replicas than servers."""


def cluster_replicas(size: int) -> int:
    """The stream replicas of a local cluster of `size` servers:
    `FLOWMAESTRO_STREAM_REPLICAS` when set (at most `size`), else 3."""
    if size < 3:
        raise ClusterSizeError(f"--cluster needs at least 3 servers (so one may fail), not {size}")
    from flowmaestro.runtime.config import Settings

    if not os.environ.get("FLOWMAESTRO_STREAM_REPLICAS", "").strip():
        return 3
    replicas = Settings.from_env().stream_replicas
    if replicas > size:
        raise ClusterSizeError(
            f"FLOWMAESTRO_STREAM_REPLICAS={replicas} needs as many servers; --cluster {size}"
        )
    return replicas


def _start_nats(
    home: Path, sync_always: bool, cluster: int | None
) -> tuple[str, list[EmbeddedNats], dict[str, str] | None]:
    """`FLOWMAESTRO_NATS_URL`, or embedded servers — one, or a `cluster` of several joined
    by routes on 127.0.0.1 — with one identity per component."""
    if url := os.environ.get("FLOWMAESTRO_NATS_URL"):
        return url, [], None
    passwords = load_or_create_credentials(home)
    authorization = server_authorization(passwords)
    if cluster is None:
        server = EmbeddedNats(
            home / "nats",
            sync_always=sync_always,
            log_file=home / "nats-server.log",
            authorization=authorization,
        ).start()
        url, servers = server.url, [server]
    else:
        nodes = NatsCluster(
            home / "nats-cluster",
            size=cluster,
            sync_always=sync_always,
            log_dir=home,
            authorization=authorization,
        ).start()
        url, servers = nodes.url, nodes.servers
    os.environ["FLOWMAESTRO_NATS_USER"] = "cli"
    os.environ["FLOWMAESTRO_NATS_PASSWORD"] = passwords["cli"]
    return url, servers, passwords


def _deny_routes(base: dict[str, str], servers: list[EmbeddedNats]) -> None:
    """No node may reach a cluster's route ports (a route is trusted with every subject):
    they join the egress policy's deny list, as the client ports already are."""
    routes = [f"127.0.0.1:{s.cluster.port}" for s in servers if s.cluster is not None]
    if routes:
        given = base.get("FLOWMAESTRO_EGRESS_DENY", "").strip(", ")
        base["FLOWMAESTRO_EGRESS_DENY"] = ",".join([given, *routes] if given else routes)


def _restart_dead_servers(servers: list[EmbeddedNats]) -> bool:
    """A cluster's member that died is started again (same ports, same store) and catches
    up from its peers; True when one was."""
    restarted = False
    for server in servers:
        if server.cluster is None or server.pid is not None:
            continue
        print(f"nats-server {server.server_name} exited; restarting", flush=True)
        try:
            server.start()
            restarted = True
        except (OSError, RuntimeError, TimeoutError) as exc:
            print(f"nats-server {server.server_name} did not start: {exc}", flush=True)
    return restarted


def up(sync_always: bool = False, cluster: int | None = None, schedulers: int | None = None) -> int:
    """Run the whole stack in the foreground until Ctrl-C; restart a service that dies.
    `cluster`: run that many nats-servers as one JetStream cluster (instead of one), every
    stream and bucket replicated (`cluster_replicas`), each service given every server.
    `schedulers`: run that many scheduler processes (`scheduler_count`)."""
    try:
        instances = _instances(scheduler_count(schedulers))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if cluster is not None:
        if os.environ.get("FLOWMAESTRO_NATS_URL"):
            print("--cluster starts embedded servers: unset FLOWMAESTRO_NATS_URL", file=sys.stderr)
            return 2
        try:
            os.environ["FLOWMAESTRO_STREAM_REPLICAS"] = str(cluster_replicas(cluster))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    try:
        running = json.loads((home / STACK_FILE).read_text()).get("pid")
    except (OSError, ValueError):
        running = None
    if processes.alive(running, "flowmaestro"):
        print(f"a stack is already running in {home} (pid {running})", file=sys.stderr)
        return 2
    down(home, quiet=True)  # what a killed `up` left behind
    nats_url, servers, passwords = _start_nats(home, sync_always, cluster)
    database: AppDatabase | None = None
    try:
        _setup_in_child(nats_url)
        database = start_database_in_child(home)
        port = _gateway_port()
        base = {
            **os.environ,
            "FLOWMAESTRO_DATABASE_URL": database.url,
            "FLOWMAESTRO_GATEWAY_PORT": str(port),
        }
        _deny_routes(base, servers)
        prepared = subprocess.run(
            [sys.executable, "-m", SERVICES["gateway"], "prepare"],
            env=_service_env(base, nats_url, None, "gateway"),
            capture_output=True,
            text=True,
        )
        sys.stdout.write(prepared.stdout)
        if prepared.returncode != 0:
            sys.stderr.write(prepared.stderr)
            raise SystemExit(prepared.returncode)
    except BaseException:
        for server in servers:
            server.stop()
        if database is not None:
            database.stop()
        raise
    host = os.environ.get("FLOWMAESTRO_GATEWAY_HOST", "127.0.0.1")
    gateway_url = f"http://{host}:{port}"
    stack: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database.url,
        "gateway_url": gateway_url,
        "pid": os.getpid(),
        "nats_pid": servers[0].pid if servers else None,
        "postgres_dir": str(database.data_dir) if database.data_dir else None,
    }

    stopping = False

    def request_stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    def spawn(instance: str) -> subprocess.Popen[bytes]:
        return _spawn(instance, home, _service_env(base, nats_url, passwords, _role(instance)))

    children = {instance: spawn(instance) for instance in instances}

    def write_stack() -> None:
        stack["services"] = {role: child.pid for role, child in children.items()}
        if cluster is not None:
            stack["nats_pids"] = [server.pid for server in servers]
            stack["nats_pid"] = stack["nats_pids"][0]
        (home / STACK_FILE).write_text(json.dumps(stack))

    write_stack()
    if not _wait_for_http(gateway_url, children["gateway"]):
        print(f"the gateway did not start; see {home}/gateway.log", flush=True)
    print(
        f"FlowMaestro is ready: {gateway_url} (NATS {nats_url}; state in {home}; "
        f"logs in {home}/*.log)",
        flush=True,
    )
    try:
        while not stopping:
            time.sleep(0.2)
            for role, child in children.items():
                if child.poll() is not None and not stopping:
                    print(f"{role} exited with {child.returncode}; restarting", flush=True)
                    time.sleep(1.0)
                    children[role] = spawn(role)
                    write_stack()
            if not stopping and _restart_dead_servers(servers):
                write_stack()
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for role, child in children.items():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            print(f"{role} stopped (exit code {child.returncode})", flush=True)
        for server in servers:
            server.stop()
        database.stop()
        (home / STACK_FILE).unlink(missing_ok=True)
        print("FlowMaestro stopped.", flush=True)
    return 0


def down(home: Path | None = None, quiet: bool = False) -> int:
    """Stop whatever the state folder's stack left running: `up` itself, its services and
    NATS (after a kill -9 of `up`), and the embedded PostgreSQL (which outlives it)."""
    home = home or state_dir()
    stopped: list[str] = []
    try:
        stack = json.loads((home / STACK_FILE).read_text())
    except (OSError, ValueError):
        stack = {}
    if processes.stop(stack.get("pid"), "flowmaestro"):
        stopped.append(f"up (pid {stack['pid']})")
    for role, pid in (stack.get("services") or {}).items():
        if processes.stop(pid, SERVICES.get(_role(role), "flowmaestro")):
            stopped.append(f"{role} (pid {pid})")
    nats_pids: list[int | None] = [stack.get("nats_pid"), *(stack.get("nats_pids") or [])]
    for pid in dict.fromkeys(nats_pids):
        if processes.stop(pid, "nats-server"):
            stopped.append(f"nats-server (pid {pid})")
    pid = processes.stop_postgres(home / "postgres")
    if pid is not None:
        stopped.append(f"postgres (pid {pid})")
    (home / STACK_FILE).unlink(missing_ok=True)
    if not quiet:
        print(f"stopped: {', '.join(stopped)}" if stopped else f"nothing running for {home}")
    return 0
