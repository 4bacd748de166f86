"""A service process the tests kill -9 and start again (crash, batch and chaos tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from flowmaestro.runtime.embedded import die_with_parent

__all__ = ["ServiceProcess", "cli_service"]


class ServiceProcess:
    """`command` run with the tests' environment plus `env`, logging to `logs/<name>.log`;
    started at once, and again by `start` after a `kill`."""

    def __init__(
        self,
        role: str,
        command: list[str],
        logs: Path,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.role, self.command, self.logs = role, command, logs
        self.env = env or {}
        self.name = name or role
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the process (appending to its log)."""
        out = (self.logs / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            self.command,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=out,
            preexec_fn=die_with_parent,
        )

    def kill(self) -> None:
        """kill -9, as a crash would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def ensure_running(self) -> None:
        """Start it again if it is not running (killed, or ended on its own)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end within 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cli_service(
    role: str, nats_url: str, logs: Path, env: dict[str, str] | None = None
) -> ServiceProcess:
    """`flowmaestro --nats URL ROLE` (scheduler, executors, gateway) as a killable process."""
    command = [sys.executable, "-m", "flowmaestro.cli.main", "--nats", nats_url, role]
    return ServiceProcess(role, command, logs, env)
