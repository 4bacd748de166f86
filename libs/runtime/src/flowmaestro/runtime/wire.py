"""A lean NATS connection for the hot path: commands, results, acknowledgements.

nats-py parses every incoming message in a reader task, queues it for a per-subscription
task that calls an async callback, and writes through a flusher task: three event-loop hops
and a few dataclasses per message. At one JetStream round trip per workflow step that is
most of a step's cost. `Wire` speaks the NATS client protocol on an `asyncio.Protocol`:
messages are parsed in `data_received` and handed to plain callbacks there, and writes
made while handling a read are sent together at the end of that loop iteration.

It covers what the hot path needs — publish (with headers and reply), subscribe, liveness
checks, reconnection with resubscription — and nothing else; everything else uses nats-py.
It reads the server's `INFO` and refuses, before sending, a message over the server's
`max_payload` (a server closes the connection of a client that sends one).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import msgspec
import structlog

from flowmaestro.runtime.errors import NatsUnreachableError, PayloadTooLargeError

__all__ = ["DEFAULT_MAX_PAYLOAD", "Wire", "WireClosedError", "WireMsg"]

log = structlog.get_logger("flowmaestro.wire")

_CRLF = b"\r\n"
_MAX_PENDING = 64 * 1024 * 1024
DEFAULT_MAX_PAYLOAD = 1024 * 1024
"""nats-server's default `max_payload`, assumed until the server's `INFO` says otherwise."""
_connect_encoder = msgspec.json.Encoder()


class WireClosedError(NatsUnreachableError):
    """The connection is closed and will not come back."""


class WireMsg:
    """One delivered message; the JetStream fields are read from the reply subject."""

    __slots__ = ("_header_block", "_wire", "data", "reply", "subject")

    def __init__(
        self, wire: Wire, subject: str, reply: str, header_block: bytes | None, data: bytes
    ) -> None:
        self._wire = wire
        self.subject = subject
        self.reply = reply
        self._header_block = header_block
        self.data = data

    @property
    def status(self) -> str | None:
        """The status code of a status message (`100`, `404`, `408`, `503`…), else None."""
        block = self._header_block
        if not block or block[8:9] != b" ":
            return None
        return block[9:12].decode()

    @property
    def headers(self) -> dict[str, str]:
        """The message's headers (parsed on demand)."""
        block = self._header_block
        if not block:
            return {}
        headers: dict[str, str] = {}
        for line in block.split(_CRLF)[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.decode().strip()] = value.decode().strip()
        return headers

    def _ack_token(self, index_v1: int, index_v2: int) -> int:
        # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>, or the
        # v2 form with domain and account hash after `$JS.ACK` and a random token at the end.
        tokens = self.reply.split(".")
        if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
            raise ValueError(f"not a JetStream delivery: {self.reply!r}")
        return int(tokens[index_v1] if len(tokens) == 9 else tokens[index_v2])

    @property
    def seq(self) -> int:
        """The message's sequence in its stream."""
        return self._ack_token(5, 7)

    @property
    def deliveries(self) -> int:
        """How many times JetStream has delivered this message (1 the first time)."""
        return self._ack_token(4, 6)

    async def ack(self) -> None:
        self.ack_now()

    def ack_now(self) -> None:
        """`ack()` for callers outside a coroutine."""
        self._wire.publish(self.reply, b"")

    async def nak(self, delay: float | None = None) -> None:
        body = b"-NAK" if delay is None else b'-NAK {"delay":%d}' % int(delay * 1e9)
        self._wire.publish(self.reply, body)

    async def in_progress(self) -> None:
        self._wire.publish(self.reply, b"+WPI")

    async def term(self) -> None:
        self._wire.publish(self.reply, b"+TERM")


Handler = Callable[[WireMsg], None]


class _Protocol(asyncio.Protocol):
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.wire._received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.wire._lost(self, exc)


class Wire:
    """One NATS connection; `connect()` first, then publish and subscribe from the loop."""

    def __init__(
        self,
        url: str,
        name: str = "flowmaestro",
        persistent: bool = True,
        reconnect_wait: float = 0.25,
        connect_timeout: float = 5.0,
        ping_interval: float = 20.0,
        user: str | None = None,
        password: str | None = None,
        inbox_prefix: str = "_INBOX",
    ) -> None:
        """`ping_interval`: how often to check that the server still answers; a connection
        that leaves two checks unanswered is dropped and made again. `user`/`password`
        override those in the URL; `inbox_prefix` roots this client's reply subjects."""
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        if parts.scheme not in ("nats", ""):
            raise ValueError(f"unsupported NATS URL scheme {parts.scheme!r} (only nats://)")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 4222
        self._auth: dict[str, str] = {}
        if parts.username and parts.password is not None:
            self._auth = {"user": unquote(parts.username), "pass": unquote(parts.password)}
        elif parts.username:
            self._auth = {"auth_token": unquote(parts.username)}
        if user:
            self._auth = {"user": user, "pass": password or ""}
        self.name = name
        self.persistent = persistent
        self.reconnect_wait = reconnect_wait
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self._inbox_prefix = f"{inbox_prefix}.{secrets.token_hex(11)}"
        self._inbox_ids = itertools.count()
        self._sids = itertools.count(1)
        self._subs: dict[int, tuple[str, Handler]] = {}
        self._proto: _Protocol | None = None
        self._ready: asyncio.Future[None] | None = None
        self._greeted = False  # CONNECT and the subscriptions are on their way
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_scheduled = False
        # One entry per PING in flight, in order: a `flush()` waiting, or None (keepalive).
        self._pongs: deque[asyncio.Future[None] | None] = deque()
        self._unanswered = 0
        self._keepalive: asyncio.Task[None] | None = None
        self._closed = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._on_reconnect: list[Callable[[], None]] = []
        self.server_info: dict[str, Any] = {}
        """The server's latest `INFO` (`max_payload`, `auth_required`, `connect_urls`…)."""

    @property
    def max_payload(self) -> int:
        """The largest message (headers and payload) the connected server accepts."""
        value = self.server_info.get("max_payload")
        return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_PAYLOAD

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> Wire:
        """Open the connection (and the protocol handshake); raises `OSError` on failure."""
        await self._open()
        self._keepalive = asyncio.ensure_future(self._check_alive())
        return self

    @property
    def connected(self) -> bool:
        return self._proto is not None and self._ready is not None and self._ready.done()

    def on_reconnect(self, callback: Callable[[], None], remove: bool = False) -> None:
        """Call `callback` after every reconnection (subscriptions are already renewed);
        `remove=True` stops calling it."""
        if remove:
            with contextlib.suppress(ValueError):
                self._on_reconnect.remove(callback)
        else:
            self._on_reconnect.append(callback)

    async def close(self) -> None:
        """Flush what is pending and close; subscriptions end."""
        self._closed = True
        for task in (self._reconnecting, self._keepalive):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._flush()
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None
        self._forget_pings(WireClosedError("connection closed"))

    def _forget_pings(self, error: Exception) -> None:
        for pong in self._pongs:
            if pong is not None and not pong.done():
                pong.set_exception(error)
        self._pongs.clear()
        self._unanswered = 0

    async def _check_alive(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            proto = self._proto
            if not self.connected or proto is None or proto.transport is None:
                continue
            if self._unanswered >= 2:
                log.warning("wire.server_silent", client=self.name)
                proto.transport.abort()  # connection_lost follows: reconnect
                continue
            self._unanswered += 1
            self._pongs.append(None)
            self._queue(b"PING\r\n")

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._greeted = False
        self._buf.clear()
        proto = _Protocol(self)
        self._proto = proto
        try:
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(lambda: proto, self.host, self.port)
                await self._ready
        except BaseException:
            if proto.transport is not None:
                proto.transport.close()
            if self._proto is proto:
                self._proto = None
            raise

    def _handshake(self, proto: _Protocol) -> None:
        """After the server's INFO: CONNECT, the subscriptions, what was queued, a PING."""
        options = {
            "verbose": False,
            "pedantic": False,
            "headers": True,
            "no_responders": True,
            "protocol": 1,
            "lang": "python-wire",
            "version": "1",
            "name": self.name,
            **self._auth,
        }
        head = [b"CONNECT " + _connect_encoder.encode(options) + _CRLF]
        head += [f"SUB {subject} {sid}\r\n".encode() for sid, (subject, _) in self._subs.items()]
        self._out[:0] = head
        self._out.append(b"PING\r\n")
        self._greeted = True
        self._write_now(proto)

    def _lost(self, proto: _Protocol, exc: Exception | None) -> None:
        if proto is not self._proto:
            return
        self._proto = None
        self._greeted = False
        self._forget_pings(ConnectionResetError("connection lost"))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc or ConnectionResetError("connection closed"))
            return
        if self._closed:
            return
        log.warning("wire.disconnected", client=self.name, error=repr(exc))
        if not self.persistent:
            self._closed = True
            return
        self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.reconnect_wait)
            try:
                await self._open()
            except (OSError, TimeoutError) as exc:
                log.debug("wire.reconnect_failed", client=self.name, error=repr(exc))
                continue
            log.info("wire.reconnected", client=self.name)
            self._reconnecting = None
            for callback in self._on_reconnect:
                try:
                    callback()
                except Exception:
                    log.exception("wire.reconnect_callback_failed")
            return

    # -- outgoing --------------------------------------------------------------------

    def new_inbox(self) -> str:
        return f"{self._inbox_prefix}.{next(self._inbox_ids)}"

    def subscribe(self, subject: str, handler: Handler) -> int:
        """Call `handler` for every message on `subject`; returns the subscription id."""
        sid = next(self._sids)
        self._subs[sid] = (subject, handler)
        if self._greeted:
            self._queue(f"SUB {subject} {sid}\r\n".encode())
        return sid

    def unsubscribe(self, sid: int) -> None:
        if self._subs.pop(sid, None) is not None and self._greeted:
            self._queue(f"UNSUB {sid}\r\n".encode())

    def publish(
        self,
        subject: str,
        payload: bytes,
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue a message; it is written at the end of this loop iteration (or, while
        reconnecting, once the connection is back)."""
        if self._closed:
            raise WireClosedError("connection closed")
        if len(payload) > self.max_payload:
            raise PayloadTooLargeError(subject, len(payload), self.max_payload)
        if headers:
            block = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            head = block.encode()
            size = len(head)
            if size + len(payload) > self.max_payload:
                raise PayloadTooLargeError(subject, size + len(payload), self.max_payload)
            if reply:
                line = f"HPUB {subject} {reply} {size} {size + len(payload)}\r\n"
            else:
                line = f"HPUB {subject} {size} {size + len(payload)}\r\n"
            self._queue(line.encode() + head + payload + _CRLF)
        else:
            line = (
                f"PUB {subject} {reply} {len(payload)}\r\n"
                if reply
                else (f"PUB {subject} {len(payload)}\r\n")
            )
            self._queue(line.encode() + payload + _CRLF)

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until the server has seen everything sent so far (a PING round trip)."""
        if not self.connected:
            raise WireClosedError("not connected")
        pong: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs.append(pong)
        self._queue(b"PING\r\n")
        async with asyncio.timeout(timeout):
            await pong

    def _queue(self, data: bytes) -> None:
        if self._out_size + len(data) > _MAX_PENDING:
            raise WireClosedError("too much is waiting to be sent; the server is unreachable")
        self._out.append(data)
        self._out_size += len(data)
        if not self._flush_scheduled and self.connected:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self.connected and self._proto is not None:
            self._write_now(self._proto)

    def _write_now(self, proto: _Protocol) -> None:
        if self._out and proto.transport is not None:
            proto.transport.write(b"".join(self._out))
            self._out.clear()
            self._out_size = 0

    # -- incoming --------------------------------------------------------------------

    def _received(self, proto: _Protocol, data: bytes) -> None:
        if proto is not self._proto:
            return
        buf = self._buf
        buf += data
        pos = 0
        size = len(buf)
        while True:
            end = buf.find(_CRLF, pos)
            if end < 0:
                break
            op = bytes(buf[pos : pos + 4])
            if op == b"MSG ":
                args = bytes(buf[pos + 4 : end]).split()
                total = int(args[-1])
                start = end + 2
                if size < start + total + 2:
                    break
                self._deliver(args, None, bytes(buf[start : start + total]))
                pos = start + total + 2
            elif op == b"HMSG":
                args = bytes(buf[pos + 5 : end]).split()
                head, total = int(args[-2]), int(args[-1])
                start = end + 2
                if size < start + total + 2:
                    break
                block = bytes(buf[start : start + head])
                self._deliver(args[:-1], block, bytes(buf[start + head : start + total]))
                pos = start + total + 2
            else:
                self._control(proto, op, bytes(buf[pos:end]))
                pos = end + 2
        del buf[:pos]

    def _deliver(self, args: list[bytes], block: bytes | None, data: bytes) -> None:
        # args: subject sid [reply] size
        sub = self._subs.get(int(args[1]))
        if sub is None:
            return
        reply = args[2].decode() if len(args) == 4 else ""
        msg = WireMsg(self, args[0].decode(), reply, block, data)
        try:
            sub[1](msg)
        except Exception:
            log.exception("wire.handler_failed", subject=msg.subject)

    def _read_info(self, body: bytes) -> None:
        """Keep the server's `INFO` (sent on connect, and again when the cluster changes)."""
        try:
            info = msgspec.json.decode(body)
        except msgspec.DecodeError:
            log.warning("wire.bad_info", client=self.name)
            return
        if isinstance(info, dict):
            self.server_info = info

    def _control(self, proto: _Protocol, op: bytes, line: bytes) -> None:
        if op == b"PING":
            self._queue(b"PONG\r\n")
        elif op == b"PONG":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
                self._flush()
            else:
                self._unanswered = 0
                pong = self._pongs.popleft() if self._pongs else None
                if pong is not None and not pong.done():
                    pong.set_result(None)
        elif op == b"INFO":
            self._read_info(line[5:])
            if self._ready is not None and not self._ready.done():
                self._handshake(proto)
        elif op == b"-ERR":
            log.warning("wire.server_error", client=self.name, error=line[5:].decode())
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(ConnectionRefusedError(line[5:].decode()))
