"""A local three-server NATS cluster for the tests, with every component's identity, and
what the tests ask of it: one server's own view of a stream, stream leaders."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.js.errors import ServiceUnavailableError

from flowmaestro.runtime import EmbeddedNats, connect
from flowmaestro.runtime.embedded import NatsCluster
from flowmaestro.runtime.natsauth import load_or_create_credentials, server_authorization

__all__ = ["ClusterStack", "local_stream_state", "move_leader", "stream_leader"]


@dataclass
class ClusterStack:
    """A started cluster and the passwords of its identities (`natsauth`)."""

    cluster: NatsCluster
    passwords: dict[str, str]

    @classmethod
    def start(cls, folder: Path, size: int = 3) -> ClusterStack:
        """Start `size` servers under `folder` (stores, logs, credentials)."""
        passwords = load_or_create_credentials(folder)
        cluster = NatsCluster(
            folder / "nats",
            size=size,
            log_dir=folder,
            authorization=server_authorization(passwords),
            monitor=True,
        )
        return cls(cluster.start(), passwords)

    @property
    def url(self) -> str:
        """Every server's URL, separated by commas."""
        return self.cluster.url

    async def operator(self, name: str = "tests") -> Client:
        """A connection as the operator identity (`cli`), to every server."""
        return await connect(self.url, name=name, credentials=("cli", self.passwords["cli"]))

    def server(self, name: str) -> EmbeddedNats:
        """The member called `name`."""
        return next(s for s in self.cluster.servers if s.server_name == name)

    def stop(self) -> None:
        """Stop every server."""
        self.cluster.stop()


def _jsz(server: EmbeddedNats) -> dict[str, Any]:
    url = f"http://127.0.0.1:{server.monitor_port}/jsz?accounts=true&streams=true"
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


async def local_stream_state(server: EmbeddedNats, stream: str) -> dict[str, Any] | None:
    """The state of `stream` as `server` itself holds it (its monitoring `/jsz`, not the
    stream leader's answer), or None when it holds no copy."""
    info = await asyncio.to_thread(_jsz, server)
    for account in info.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail.get("name") == stream:
                return detail.get("state")
    return None


async def _leader(nc: Client, stream: str, consumer: str | None) -> str | None:
    js = nc.jetstream(timeout=1)
    with contextlib.suppress(nats.errors.TimeoutError, ServiceUnavailableError):
        info = await (js.consumer_info(stream, consumer) if consumer else js.stream_info(stream))
        if info.cluster and info.cluster.leader:
            return info.cluster.leader
    return None


async def stream_leader(
    nc: Client, stream: str, consumer: str | None = None, timeout: float = 15.0
) -> str:
    """The name of the server leading `stream` (or its `consumer`) now; waits while it
    has none."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if leader := await _leader(nc, stream, consumer):
            return leader
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{stream} {consumer or ''} has no leader")


async def move_leader(
    nc: Client, stream: str, to: str, consumer: str | None = None, timeout: float = 15.0
) -> None:
    """Have `to` lead `stream` (or its `consumer`): ask the leader to step down in its
    favour until it does."""
    api = f"STREAM.LEADER.STEPDOWN.{stream}"
    if consumer:
        api = f"CONSUMER.LEADER.STEPDOWN.{stream}.{consumer}"
    deadline = asyncio.get_running_loop().time() + timeout
    while await stream_leader(nc, stream, consumer) != to:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{to} did not become the leader of {stream} {consumer or ''}")
        body = json.dumps({"placement": {"preferred": to}}).encode()
        await nc.request(f"$JS.API.{api}", body, timeout=5)
        await asyncio.sleep(0.5)
