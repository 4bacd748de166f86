"""Run the gateway in this process on a free port, and talk to it over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec

from flowmaestro.gateway import GatewaySettings, uvicorn_server
from flowmaestro.runtime import free_port

T = TypeVar("T")

PASSWORD = "s3cret-passw0rd"


@contextlib.asynccontextmanager
async def running_gateway(
    nats_url: str, database_url: str, run_projector: bool = True, **overrides: Any
) -> AsyncIterator[str]:
    """A gateway (with its projector, unless told not to) on a free port; yields its base
    URL. A second gateway on one database runs none: it would share the projector's
    consumer and hold messages unacknowledged when it stops."""
    # the suite registers many users from one address
    overrides = {"register_limit_per_address": 100_000, "register_limit": 100_000, **overrides}
    settings = GatewaySettings(
        nats_url=nats_url,
        database_url=database_url,
        port=free_port(),
        db_timeout_s=1.0,
        heartbeat_s=0.5,
        **overrides,
    )
    server = uvicorn_server(settings, run_projector)
    task = asyncio.ensure_future(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.025)
    if not server.started:
        task.cancel()
        raise RuntimeError("the gateway did not start")
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class User:
    """A registered user and their bearer token."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, name: str = "Tester") -> User:
    """Register a new user with a unique email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return User(id=data["user"]["id"], email=email, token=data["token"])


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The envelope's `data`, after checking the status and `success`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The envelope's `error`, after checking the status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"message", "code", "details"}
    return body["error"]


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 15.0, every: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(every)


async def sse_events(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    stop_after: Callable[[dict[str, Any]], bool] | None = None,
    on_first_heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Read an SSE stream: returns its events (`id`, `event`, `data`) and heartbeat count.

    Stops at the end of the stream, or right after an event for which `stop_after` is true
    (closing the connection, as a dropped client would). `on_first_heartbeat` runs once the
    stream is known to be live.
    """
    events: list[dict[str, Any]] = []
    heartbeats = 0
    current: dict[str, Any] = {}
    async with client.stream("GET", path, headers=headers, timeout=30) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith(":"):
                heartbeats += 1
                if heartbeats == 1 and on_first_heartbeat is not None:
                    await on_first_heartbeat()
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["raw"] = [*current.get("raw", []), line[6:]]
            elif line == "" and current:
                current["data"] = msgspec.json.decode("\n".join(current.pop("raw", [])))
                events.append(current)
                current = {}
                if stop_after is not None and stop_after(events[-1]):
                    break
    return events, heartbeats
