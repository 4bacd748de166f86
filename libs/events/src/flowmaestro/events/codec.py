"""Bytes ↔ events and commands; decoders are built once.

Events are JSON so that exported logs and the wire read the same. An event whose tag was
retired is passed through its upcaster before decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from flowmaestro.events.commands import Command
from flowmaestro.events.errors import CodecError
from flowmaestro.events.events import Event

__all__ = [
    "UPCASTERS",
    "decode_command",
    "decode_event",
    "encode",
    "event_from_dict",
    "event_to_dict",
    "parse_jsonl",
    "record_to_json",
]

UPCASTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""Retired event tag → function turning its fields into a current event's fields."""

_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(Event)
_command_decoder = msgspec.json.Decoder(Command)
_any_decoder = msgspec.json.Decoder()


def encode(value: Event | Command) -> bytes:
    """Encode an event or command as JSON bytes."""
    return _encoder.encode(value)


def event_from_dict(fields: dict[str, Any]) -> Event:
    """Build an event from its JSON fields, upcasting a retired tag."""
    upcast = UPCASTERS.get(str(fields.get("type")))
    if upcast is not None:
        fields = upcast(fields)
    try:
        return msgspec.convert(fields, Event)
    except msgspec.ValidationError as exc:
        raise CodecError(f"not a valid event: {exc}") from exc


def decode_event(data: bytes) -> Event:
    """Decode one event from bytes."""
    try:
        return _event_decoder.decode(data)
    except msgspec.ValidationError:
        fields = _any_decoder.decode(data)
        if isinstance(fields, dict) and fields.get("type") in UPCASTERS:
            return event_from_dict(fields)
        raise CodecError(f"not a valid event: {data[:200]!r}") from None
    except msgspec.DecodeError as exc:
        raise CodecError(f"not valid JSON: {exc}") from exc


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as JSON-ready fields, including its `type` tag."""
    return msgspec.to_builtins(event)


def decode_command(data: bytes) -> Command:
    """Decode one command from bytes."""
    try:
        return _command_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise CodecError(f"not a valid command: {exc}") from exc


def record_to_json(seq: int, event: Event) -> str:
    """One exported log line: `{"seq": N, "type": ..., fields...}`."""
    return _encoder.encode({"seq": seq, **event_to_dict(event)}).decode()


def parse_jsonl(lines: Iterable[str]) -> list[tuple[int, Event]]:
    """Parse an exported log; a bad line raises `CodecError` naming its line number."""
    records: list[tuple[int, Event]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            fields = _any_decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise CodecError(f"line {number}: not valid JSON ({exc})") from exc
        if not isinstance(fields, dict):
            raise CodecError(f"line {number}: expected a JSON object")
        seq = fields.pop("seq", None)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise CodecError(f"line {number}: missing or bad 'seq'")
        try:
            records.append((seq, event_from_dict(fields)))
        except CodecError as exc:
            raise CodecError(f"line {number}: {exc}") from exc
    return records
