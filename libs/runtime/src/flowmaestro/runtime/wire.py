"""A lean NATS connection for the hot path: commands, results, acknowledgements.

nats-py parses every incoming message in a reader task, queues it for a per-subscription
task that calls an async callback, and writes through a flusher task: three event-loop hops
and a few dataclasses per message. At one JetStream round trip per workflow step that is
most of a step's cost (`bench/run.py --client` measures both). `Wire` speaks the NATS
client protocol on an `asyncio.Protocol`: messages are parsed in `data_received` and handed
to plain callbacks there, and writes made while handling a read are sent together at the
end of that loop iteration.

It covers what the hot path needs — publish (with headers and reply), subscribe, liveness
checks, reconnection with resubscription — and nothing else; everything else uses nats-py.
It honours the server's `INFO`: `max_payload` (a message over it is refused before
sending: a server closes the connection of a client that sends one), `headers`,
`tls_required` (the connection is upgraded to TLS), `auth_required` (with user/password,
token, an nkey seed or a credentials file, signing the server's `nonce`), `ldm` (a server
in lame-duck mode is left for another) and `connect_urls` (a cluster's other servers join
the list that reconnection rotates through).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import secrets
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

import msgspec
import nkeys
import structlog

from flowmaestro.events.names import Header
from flowmaestro.runtime.errors import NatsUnreachableError, PayloadTooLargeError
from flowmaestro.runtime.wireparser import Parser, ProtocolError

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "Parser",
    "ProtocolError",
    "Wire",
    "WireClosedError",
    "WireMsg",
    "read_credentials",
]

log = structlog.get_logger("flowmaestro.wire")

_CRLF = b"\r\n"
_PIN_ID = f"{Header.PIN_ID}:".encode()
_MAX_PENDING = 64 * 1024 * 1024
DEFAULT_MAX_PAYLOAD = 1024 * 1024
"""nats-server's default `max_payload`, assumed until the server's `INFO` says otherwise."""
_connect_encoder = msgspec.json.Encoder()


class WireClosedError(NatsUnreachableError):
    """The connection is closed and will not come back."""


class Publisher(Protocol):
    """Where a message's acknowledgement is sent: the connection it came over."""

    def publish(
        self,
        subject: str,
        payload: bytes,
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None: ...


class WireMsg:
    """One delivered message; the JetStream fields are read from the reply subject."""

    __slots__ = ("_header_block", "_wire", "data", "reply", "subject")

    def __init__(
        self, wire: Publisher, subject: str, reply: str, header_block: bytes | None, data: bytes
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

    @property
    def pin_id(self) -> str | None:
        """The `Nats-Pin-Id` of a delivery from a pinned priority group, else None."""
        block = self._header_block
        if not block:
            return None
        start = block.find(_PIN_ID)
        if start < 0:
            return None
        end = block.find(b"\r\n", start)
        return block[start + len(_PIN_ID) : end if end >= 0 else None].decode().strip()

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
    def consumer_seq(self) -> int:
        """The delivery's sequence in its consumer (one more for every delivery)."""
        return self._ack_token(6, 8)

    @property
    def deliveries(self) -> int:
        """How many times JetStream has delivered this message (1 the first time)."""
        return self._ack_token(4, 6)

    async def ack(self) -> None:
        """Acknowledge the delivery."""
        self.ack_now()

    def ack_now(self) -> None:
        """`ack()` for callers outside a coroutine."""
        self._wire.publish(self.reply, b"")

    async def nak(self, delay: float | None = None) -> None:
        """Ask for redelivery (after `delay` seconds)."""
        body = b"-NAK" if delay is None else b'-NAK {"delay":%d}' % int(delay * 1e9)
        self._wire.publish(self.reply, body)

    async def in_progress(self) -> None:
        """Tell the server the message is still being worked on."""
        self._wire.publish(self.reply, b"+WPI")

    async def term(self) -> None:
        """Never redeliver this message."""
        self._wire.publish(self.reply, b"+TERM")


Handler = Callable[[WireMsg], None]


def read_credentials(path: str | Path) -> tuple[str, bytes]:
    """The user JWT and nkey seed of a NATS credentials file (as `nsc` writes them)."""
    jwt = seed = None
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("-----BEGIN NATS USER JWT"):
            jwt = lines[i + 1]
        elif line.startswith("-----BEGIN USER NKEY SEED"):
            seed = lines[i + 1]
    if not jwt or not seed:
        raise ValueError(f"{path}: not a NATS credentials file (no user JWT and seed)")
    return jwt, seed.encode()


@dataclass
class _Server:
    """One server of the list that connection and reconnection rotate through."""

    host: str
    port: int
    tls: bool  # a tls:// URL: never speak in clear to it
    auth: dict[str, str]
    learned: bool = False  # from a cluster's `connect_urls`

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _parse_server(url: str) -> _Server:
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    if parts.scheme not in ("nats", "tls", ""):
        raise ValueError(f"unsupported NATS URL scheme {parts.scheme!r} (nats:// or tls://)")
    auth: dict[str, str] = {}
    if parts.username and parts.password is not None:
        auth = {"user": unquote(parts.username), "pass": unquote(parts.password)}
    elif parts.username:
        auth = {"auth_token": unquote(parts.username)}
    return _Server(parts.hostname or "127.0.0.1", parts.port or 4222, parts.scheme == "tls", auth)


class _Protocol(asyncio.Protocol):
    def __init__(self, wire: Wire, server: _Server) -> None:
        self.wire = wire
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = Parser(wire._on_message, self._on_control, _MAX_PENDING)

    def _on_control(self, op: bytes, arg: bytes) -> None:
        self.wire._control(self, op, arg)

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
        url: str | Sequence[str],
        name: str = "flowmaestro",
        persistent: bool = True,
        reconnect_wait: float = 0.25,
        connect_timeout: float = 5.0,
        ping_interval: float = 20.0,
        user: str | None = None,
        password: str | None = None,
        inbox_prefix: str = "_INBOX",
        tls: ssl.SSLContext | None = None,
        tls_hostname: str | None = None,
        nkeys_seed: str | Path | None = None,
        credentials_file: str | Path | None = None,
    ) -> None:
        """`url`: one server, several separated by commas, or a list; each `nats://` or
        `tls://`, optionally with `user:password@` or `token@`. `ping_interval`: how often
        to check that the server still answers; a connection that leaves two checks
        unanswered is dropped and made again. `user`/`password` override those in the
        URL; `inbox_prefix` roots this client's reply subjects. `tls`: the context for
        servers that require TLS (a default, verifying one otherwise) — given, every
        connection uses TLS. `nkeys_seed`: a file holding a user's nkey seed;
        `credentials_file`: a `.creds` file (user JWT and seed)."""
        urls = url.split(",") if isinstance(url, str) else list(url)
        self.servers = [_parse_server(u.strip()) for u in urls if u.strip()]
        if not self.servers:
            raise ValueError("no NATS server given")
        if user:
            for server in self.servers:
                server.auth = {"user": user, "pass": password or ""}
        self._tls = tls
        self._tls_hostname = tls_hostname
        self._jwt: str | None = None
        self._seed: bytes | None = None
        if credentials_file is not None:
            self._jwt, self._seed = read_credentials(credentials_file)
        elif nkeys_seed is not None:
            self._seed = Path(nkeys_seed).read_bytes().strip()
        if self._seed is not None:
            nkeys.from_seed(bytearray(self._seed))  # a bad seed fails here, not at connect
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
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_scheduled = False
        # One entry per PING in flight, in order: a `flush()` waiting, or None (keepalive).
        self._pongs: deque[asyncio.Future[None] | None] = deque()
        self._unanswered = 0
        self._keepalive: asyncio.Task[None] | None = None
        self._upgrading: asyncio.Task[None] | None = None
        self._closed = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._on_reconnect: list[Callable[[], None]] = []
        self._next_server = 0
        self.server_info: dict[str, Any] = {}
        """The server's latest `INFO` (`max_payload`, `auth_required`, `connect_urls`…)."""
        self.last_error: str | None = None
        """The last `-ERR` the server sent."""

    @property
    def max_payload(self) -> int:
        """The largest message (headers and payload) the connected server accepts."""
        value = self.server_info.get("max_payload")
        return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_PAYLOAD

    @property
    def headers_supported(self) -> bool:
        """Whether the connected server accepts messages with headers."""
        return bool(self.server_info.get("headers", False))

    @property
    def server(self) -> str | None:
        """`host:port` of the server connected to now."""
        return self._proto.server.address if self.connected and self._proto else None

    @property
    def tls(self) -> bool:
        """Whether the current connection is encrypted."""
        proto = self._proto
        return (
            proto is not None
            and proto.transport is not None
            and (proto.transport.get_extra_info("ssl_object") is not None)
        )

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> Wire:
        """Open the connection to the first server that answers (each tried once);
        raises `OSError` (or `ssl.SSLError`) when none does."""
        failure: BaseException | None = None
        for _ in range(len(self.servers)):
            try:
                await self._open(self._rotate())
            except (OSError, TimeoutError) as exc:
                failure = exc
                continue
            self._keepalive = asyncio.ensure_future(self._check_alive())
            return self
        assert failure is not None
        raise failure

    def _rotate(self) -> _Server:
        server = self.servers[self._next_server % len(self.servers)]
        self._next_server = (self._next_server + 1) % len(self.servers)
        return server

    @property
    def connected(self) -> bool:
        """Whether the handshake with a server is complete and the connection is up."""
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
        for task in (self._reconnecting, self._keepalive, self._upgrading):
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

    async def _open(self, server: _Server) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._greeted = False
        self._upgrading = None
        proto = _Protocol(self, server)
        self._proto = proto
        try:
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(lambda: proto, server.host, server.port)
                await self._ready
        except BaseException:
            if self._upgrading is not None:
                self._upgrading.cancel()
            if proto.transport is not None:
                proto.transport.close()
            if self._proto is proto:
                self._proto = None
            raise

    def _refuse(self, proto: _Protocol, error: BaseException) -> None:
        """The handshake cannot go on: fail the connection attempt with `error`."""
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)
        if proto.transport is not None:
            proto.transport.abort()

    def _greet(self, proto: _Protocol) -> None:
        """The server's first INFO: refuse what cannot work, upgrade to TLS if asked."""
        info = self.server_info
        server = proto.server
        wants_tls = server.tls or self._tls is not None
        if (wants_tls or info.get("tls_required")) and not (
            info.get("tls_required") or info.get("tls_available")
        ):
            self._refuse(proto, ConnectionRefusedError(f"{server.address} offers no TLS"))
            return
        if info.get("auth_required") and not (server.auth or self._seed):
            self._refuse(
                proto,
                ConnectionRefusedError(
                    f"{server.address} requires authentication and no credentials are set"
                ),
            )
            return
        if wants_tls or info.get("tls_required"):
            self._upgrading = asyncio.ensure_future(self._upgrade(proto))
        else:
            self._handshake(proto)

    async def _upgrade(self, proto: _Protocol) -> None:
        """Wrap the connection in TLS, then carry on with CONNECT."""
        loop = asyncio.get_running_loop()
        context = self._tls or ssl.create_default_context()
        hostname = self._tls_hostname or (
            self.servers[0].host if proto.server.learned else proto.server.host
        )
        assert proto.transport is not None
        try:
            transport = await loop.start_tls(
                proto.transport, proto, context, server_hostname=hostname
            )
        except (OSError, ssl.SSLError) as exc:
            self._refuse(proto, exc)
            return
        if transport is None or self._proto is not proto:
            return
        proto.transport = cast(asyncio.Transport, transport)
        self._handshake(proto)

    def _handshake(self, proto: _Protocol) -> None:
        """After the server's INFO: CONNECT, the subscriptions, what was queued, a PING."""
        options: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "headers": self.headers_supported,
            "no_responders": self.headers_supported,
            "protocol": 1,
            "lang": "python-wire",
            "version": "1",
            "name": self.name,
            "tls_required": self.tls,
            **proto.server.auth,
        }
        if self._seed is not None:
            key = nkeys.from_seed(bytearray(self._seed))
            nonce = str(self.server_info.get("nonce", "")).encode()
            options["sig"] = base64.urlsafe_b64encode(key.sign(nonce)).rstrip(b"=").decode()
            if self._jwt is not None:
                options["jwt"] = self._jwt
            else:
                public: bytes = key.public_key  # pyright: ignore[reportAssignmentType] - bytes
                options["nkey"] = public.decode()
            key.wipe()
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
        """Try the servers in turn, pausing `reconnect_wait` before each attempt."""
        while not self._closed:
            await asyncio.sleep(self.reconnect_wait)
            server = self._rotate()
            try:
                await self._open(server)
            except (OSError, TimeoutError) as exc:
                log.debug(
                    "wire.reconnect_failed",
                    client=self.name,
                    server=server.address,
                    error=repr(exc),
                )
                continue
            log.info("wire.reconnected", client=self.name, server=server.address)
            self._reconnecting = None
            for callback in self._on_reconnect:
                try:
                    callback()
                except Exception:
                    log.exception("wire.reconnect_callback_failed")
            return

    # -- outgoing --------------------------------------------------------------------

    def new_inbox(self) -> str:
        """A fresh reply subject of this connection."""
        return f"{self._inbox_prefix}.{next(self._inbox_ids)}"

    def subscribe(self, subject: str, handler: Handler) -> int:
        """Call `handler` for every message on `subject`; returns the subscription id."""
        sid = next(self._sids)
        self._subs[sid] = (subject, handler)
        if self._greeted:
            self._queue(f"SUB {subject} {sid}\r\n".encode())
        return sid

    def unsubscribe(self, sid: int) -> None:
        """End a subscription made by `subscribe`."""
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
            if not self.headers_supported:
                raise WireClosedError(f"the server does not accept headers ({subject})")
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
        try:
            proto.parser.feed(data)
        except ProtocolError as exc:
            # Nothing after a protocol error can be trusted: drop the connection (and,
            # when persistent, make it again).
            log.warning("wire.protocol_error", client=self.name, error=str(exc))
            self._refuse(proto, ConnectionError(f"protocol error: {exc}"))

    def _on_message(
        self, subject: bytes, sid: int, reply: bytes, block: bytes | None, data: bytes
    ) -> None:
        sub = self._subs.get(sid)
        if sub is None:
            return
        msg = WireMsg(self, subject.decode(), reply.decode(), block, data)
        try:
            sub[1](msg)
        except Exception:
            log.exception("wire.handler_failed", subject=msg.subject)

    def _read_info(self, proto: _Protocol, body: bytes) -> None:
        """Keep the server's `INFO` (sent on connect, and again when the cluster changes):
        learn the cluster's servers, and leave a server entering lame-duck mode."""
        try:
            info = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise ProtocolError("INFO is not JSON") from exc
        if not isinstance(info, dict):
            raise ProtocolError("INFO is not an object")
        info = cast(dict[str, Any], info)
        # a later INFO on the same connection updates the first (it may leave fields out)
        self.server_info = {**self.server_info, **info} if self._greeted else info
        self._learn(info.get("connect_urls"), proto.server)
        if info.get("ldm") and self.connected and len(self.servers) > 1:
            log.info("wire.lame_duck", client=self.name, server=proto.server.address)
            if proto.transport is not None:
                proto.transport.close()  # what is queued goes out; then reconnect elsewhere

    def _learn(self, urls: object, via: _Server) -> None:
        """Add a cluster's advertised servers to the list (with the credentials and TLS
        of the server that told us)."""
        if not isinstance(urls, list):
            return
        known = {s.address for s in self.servers}
        for url in cast(list[object], urls):
            if not isinstance(url, str):
                continue
            try:
                server = _parse_server(url)
            except ValueError:
                continue
            if server.address in known:
                continue
            server.tls, server.auth, server.learned = via.tls, dict(via.auth), True
            self.servers.append(server)
            known.add(server.address)
            log.info("wire.server_learned", client=self.name, server=server.address)

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
            first = (
                self._ready is not None
                and not self._ready.done()
                and not self._greeted
                and self._upgrading is None
            )
            self._read_info(proto, line)
            if first:
                self._greet(proto)
        elif op == b"-ERR":
            error = line.decode(errors="replace").strip().strip("'")
            self.last_error = error
            log.warning("wire.server_error", client=self.name, error=error)
            if self._ready is not None and not self._ready.done():
                self._refuse(proto, ConnectionRefusedError(error))
