"""The server-to-client half of the NATS protocol, as a parser fed bytes in any pieces."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["OnControl", "OnMessage", "Parser", "ProtocolError"]

_CRLF = b"\r\n"
_MAX_CONTROL_LINE = 1024 * 1024
"""The longest line without a message body (a cluster's `INFO` lists its servers)."""


class ProtocolError(ValueError):
    """The server sent something that is not the NATS protocol."""


OnMessage = Callable[[bytes, int, bytes, "bytes | None", bytes], None]
"""(subject, sid, reply, header block or None, payload)"""
OnControl = Callable[[bytes, bytes], None]
"""(operation, argument): INFO, PING, PONG, +OK, -ERR"""

_CONTROL_OPS = {b"INFO": b"INFO", b"PING": b"PING", b"PONG": b"PONG", b"+OK": b"+OK"}


class Parser:
    """The server-to-client protocol, fed bytes as they arrive in any pieces.

    Calls `on_message` for each MSG/HMSG and `on_control` for every other operation;
    anything that is not the protocol raises `ProtocolError` (the connection must then be
    dropped: nothing after it can be trusted).
    """

    __slots__ = ("_buf", "max_body", "on_control", "on_message")

    def __init__(self, on_message: OnMessage, on_control: OnControl, max_body: int) -> None:
        self.on_message = on_message
        self.on_control = on_control
        self.max_body = max_body
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        """Parse what `data` completes; keep the rest for the next call."""
        buf = self._buf
        buf += data
        pos = 0
        size = len(buf)
        try:
            while True:
                end = buf.find(_CRLF, pos)
                if end < 0:
                    if size - pos > _MAX_CONTROL_LINE:
                        raise ProtocolError("a line longer than any the protocol sends")
                    break
                op = bytes(buf[pos : pos + 4])
                if op == b"MSG ":
                    args = bytes(buf[pos + 4 : end]).split()
                    if len(args) not in (3, 4):
                        raise ProtocolError("MSG needs subject, sid, [reply,] size")
                    total = self._size(args[-1])
                    start = end + 2
                    if size < start + total + 2:
                        break
                    if buf[start + total : start + total + 2] != _CRLF:
                        raise ProtocolError("a message body not followed by CRLF")
                    reply = args[2] if len(args) == 4 else b""
                    body = bytes(buf[start : start + total])
                    self.on_message(args[0], self._sid(args[1]), reply, None, body)
                    pos = start + total + 2
                elif op == b"HMSG":
                    args = bytes(buf[pos + 5 : end]).split()
                    if len(args) not in (4, 5) or buf[pos + 4 : pos + 5] != b" ":
                        raise ProtocolError("HMSG needs subject, sid, [reply,] sizes")
                    head, total = self._size(args[-2]), self._size(args[-1])
                    if head > total or head < 10:
                        raise ProtocolError("HMSG's header size is not within its size")
                    start = end + 2
                    if size < start + total + 2:
                        break
                    if buf[start + total : start + total + 2] != _CRLF:
                        raise ProtocolError("a message body not followed by CRLF")
                    block = bytes(buf[start : start + head])
                    if not block.startswith(b"NATS/1.0"):
                        raise ProtocolError("a header block not starting NATS/1.0")
                    reply = args[2] if len(args) == 5 else b""
                    body = bytes(buf[start + head : start + total])
                    self.on_message(args[0], self._sid(args[1]), reply, block, body)
                    pos = start + total + 2
                else:
                    line = bytes(buf[pos:end])
                    name = line.split(b" ", 1)[0]
                    if name == b"-ERR":
                        self.on_control(b"-ERR", line[5:])
                    elif name in _CONTROL_OPS:
                        self.on_control(_CONTROL_OPS[name], line[len(name) + 1 :])
                    else:
                        raise ProtocolError(f"unknown operation {line[:16]!r}")
                    pos = end + 2
        finally:
            del buf[:pos]

    def _size(self, token: bytes) -> int:
        if not token.isdigit() or len(token) > 12:
            raise ProtocolError(f"not a size: {token[:16]!r}")
        value = int(token)
        if value > self.max_body:
            raise ProtocolError(f"a message of {value} bytes, over any the server sends")
        return value

    @staticmethod
    def _sid(token: bytes) -> int:
        if not token.isdigit() or len(token) > 12:
            raise ProtocolError(f"not a subscription id: {token[:16]!r}")
        return int(token)
