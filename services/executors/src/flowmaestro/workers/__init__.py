"""What runs inside worker processes: the wire protocol and the task modules.

Kept apart from `flowmaestro.executors` so a worker starts by importing only what its
tasks need. The pool that drives these processes is `flowmaestro.executors.workers`.
"""

from __future__ import annotations

import struct
from typing import Any

import msgspec

__all__ = ["HEADER", "MIB", "TaskFailed", "decode", "encode", "frame"]

MIB = 1024 * 1024
HEADER = struct.Struct(">I")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


class TaskFailed(Exception):
    """A task did not produce a value.

    `kind`: `timeout`, `memory` (a limit was hit), `crash` (the worker died), `busy` (the
    queue is full), or whatever the task module raised it with (`code`, `parse`, …).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def encode(value: Any) -> bytes:
    """msgpack bytes of `value`."""
    return _encoder.encode(value)


def decode(data: bytes) -> Any:
    """The value of msgpack `data`."""
    return _decoder.decode(data)


def frame(value: Any) -> bytes:
    """`value` as one length-prefixed frame."""
    body = encode(value)
    return HEADER.pack(len(body)) + body
