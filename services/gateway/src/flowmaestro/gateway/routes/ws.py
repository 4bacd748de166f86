"""`/ws?token=JWT`: subscribe to executions, receive their events, answer input requests."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from flowmaestro.events.names import LiveMessage
from flowmaestro.gateway.deps import ServicesDep, actor_at
from flowmaestro.gateway.errors import AuthenticationError, GatewayError
from flowmaestro.gateway.live import live_tail
from flowmaestro.gateway.runs import answer, owned_start
from flowmaestro.gateway.security import TokenClaims

__all__ = ["POLICY_VIOLATION", "LiveSession", "live_socket"]

POLICY_VIOLATION = 1008


def _now() -> str:
    return datetime.now(UTC).isoformat()


class LiveSession:
    """One WebSocket connection: its subscriptions and the messages it handles."""

    def __init__(self, socket: WebSocket[Any, Any, Any], services: ServicesDep, user: TokenClaims):
        self.socket = socket
        self.services = services
        self.user = user
        # the same who-and-where as over HTTP (a trusted proxy's forwarded address too)
        self.actor = actor_at(socket, user.user_id)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def send(
        self, type_: LiveMessage, data: Any = None, execution_id: str | None = None, **extra: Any
    ) -> None:
        """Send one server event."""
        message = {"type": type_, "timestamp": _now(), "data": data or {}, **extra}
        if execution_id is not None:
            message["execution_id"] = execution_id
        await self.send_raw(message)

    async def send_raw(self, message: dict[str, Any]) -> None:
        """Send a message as it is (sends are serialised)."""
        async with self._send_lock:
            await self.socket.send_json(message)

    async def error(self, exc: GatewayError, execution_id: str | None = None) -> None:
        """Report a failed request without closing the connection."""
        await self.send(
            LiveMessage.ERROR,
            {"code": exc.code, "message": exc.message, "details": exc.details},
            execution_id,
        )

    async def _forward(self, execution_id: str, after_seq: int) -> None:
        async for item in live_tail(self.services.nc, execution_id, after_seq):
            if item.message is not None:
                await self.send_raw(item.message)
        self.subscriptions.pop(execution_id, None)

    async def handle(self, message: dict[str, Any]) -> None:
        """Act on one client message."""
        kind = message.get("type")
        execution_id = message.get("execution_id")
        if kind == LiveMessage.PING:
            await self.send(LiveMessage.PONG)
            return
        if not isinstance(execution_id, str) or kind not in (
            LiveMessage.SUBSCRIBE,
            LiveMessage.UNSUBSCRIBE,
            LiveMessage.USER_INPUT_RESPONSE,
        ):
            await self.error(
                GatewayError("unknown message or missing execution_id", code="BAD_MESSAGE")
            )
            return
        try:
            if kind == LiveMessage.SUBSCRIBE:
                await owned_start(self.services.log, self.user.user_id, execution_id)
                if execution_id not in self.subscriptions:
                    after = message.get("after_seq")
                    task = asyncio.ensure_future(
                        self._forward(execution_id, after if isinstance(after, int) else 0)
                    )
                    self.subscriptions[execution_id] = task
                await self.send(LiveMessage.SUBSCRIBED, execution_id=execution_id)
            elif kind == LiveMessage.UNSUBSCRIBE:
                task = self.subscriptions.pop(execution_id, None)
                if task is not None:
                    task.cancel()
                await self.send(LiveMessage.UNSUBSCRIBED, execution_id=execution_id)
            else:
                node_id = message.get("node_id")
                result = await answer(
                    self.services.log,
                    self.user.user_id,
                    execution_id,
                    node_id if isinstance(node_id, str) else "",
                    message.get("input"),
                    self.actor,
                )
                await self.send(
                    LiveMessage.USER_INPUT_RESPONSE, result, execution_id, node_id=node_id
                )
        except GatewayError as exc:
            await self.error(exc, execution_id)

    async def run(self) -> None:
        """Serve the connection until the client leaves."""
        await self.send(LiveMessage.CONNECTION_ESTABLISHED, {"user_id": self.user.user_id})
        try:
            while True:
                text = await self.socket.receive_text()
                try:
                    message = msgspec.json.decode(text)
                except msgspec.DecodeError:
                    message = None
                if isinstance(message, dict):
                    await self.handle(message)
                else:
                    await self.error(GatewayError("messages are JSON objects", code="BAD_MESSAGE"))
        except (WebSocketDisconnect, asyncio.CancelledError):
            pass
        finally:
            for task in self.subscriptions.values():
                task.cancel()
            for task in list(self.subscriptions.values()):
                with contextlib.suppress(BaseException):
                    await task


@websocket("/ws")
async def live_socket(socket: WebSocket[Any, Any, Any], services: ServicesDep) -> None:
    """The WebSocket endpoint; an invalid token closes with code 1008 (policy violation)."""
    await socket.accept()
    try:
        user = services.signer.verify(socket.query_params.get("token") or "")
        if not await services.users.is_active(user.user_id):
            raise AuthenticationError("the account no longer exists or is disabled")
    except AuthenticationError as exc:
        await socket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    await LiveSession(socket, services, user).run()
