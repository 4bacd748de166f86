"""Property tests of the hot-path connection's protocol parser (no server needed)."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowmaestro.runtime.wireparser import Parser, ProtocolError

Event = tuple[Any, ...]

tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-$>*", min_size=1, max_size=12)
subjects = st.lists(tokens, min_size=1, max_size=4).map(".".join)
bodies = st.binary(max_size=300)
sids = st.integers(1, 10**9)
header_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -_/:", max_size=20)


@st.composite
def msg(draw: st.DrawFn) -> tuple[bytes, Event]:
    subject, sid, body = draw(subjects), draw(sids), draw(bodies)
    reply = draw(st.one_of(st.just(""), subjects))
    head = f"MSG {subject} {sid} {reply + ' ' if reply else ''}{len(body)}\r\n".encode()
    return head + body + b"\r\n", ("msg", subject.encode(), sid, reply.encode(), None, body)


@st.composite
def hmsg(draw: st.DrawFn) -> tuple[bytes, Event]:
    subject, sid, body = draw(subjects), draw(sids), draw(bodies)
    reply = draw(st.one_of(st.just(""), subjects))
    status = draw(st.sampled_from(["", " 100 Idle Heartbeat", " 404 No Messages", " 408"]))
    pairs = draw(st.dictionaries(st.sampled_from(["Nats-Msg-Id", "X-A", "Status"]), header_values))
    block = (
        f"NATS/1.0{status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in pairs.items()) + "\r\n"
    ).encode()
    sizes = f"{len(block)} {len(block) + len(body)}"
    head = f"HMSG {subject} {sid} {reply + ' ' if reply else ''}{sizes}\r\n".encode()
    return head + block + body + b"\r\n", (
        "msg",
        subject.encode(),
        sid,
        reply.encode(),
        block,
        body,
    )


@st.composite
def control(draw: st.DrawFn) -> tuple[bytes, Event]:
    kind = draw(st.sampled_from(["INFO", "PING", "PONG", "+OK", "-ERR"]))
    if kind == "INFO":
        arg = f'{{"server_id":"{draw(tokens)}","max_payload":{draw(st.integers(1, 10**8))}}}'
    elif kind == "-ERR":
        arg = draw(
            st.sampled_from(
                [
                    "'Permissions Violation for Publish to \"a.b\"'",
                    "'Stale Connection'",
                    "'Maximum Payload Violation'",
                ]
            )
        )
    else:
        arg = ""
    line = f"{kind} {arg}\r\n" if arg else f"{kind}\r\n"
    return line.encode(), ("control", kind.encode(), arg.encode())


streams = st.lists(st.one_of(msg(), hmsg(), control()), max_size=25)


def parse(chunks: list[bytes], events: list[Event] | None = None) -> list[Event]:
    """Feed `chunks` one by one; every event the parser reports, in order."""
    events = [] if events is None else events
    parser = Parser(
        lambda *args: events.append(("msg", *args)),
        lambda op, arg: events.append(("control", op, arg)),
        64 * 1024 * 1024,
    )
    for chunk in chunks:
        parser.feed(chunk)
    return events


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=150, deadline=None)
@given(streams, st.lists(st.integers(0, 10**6), max_size=40))
def test_any_split_of_a_valid_stream_parses_to_the_same_messages(
    stream: list[tuple[bytes, Event]], cuts: list[int]
) -> None:
    data = b"".join(raw for raw, _ in stream)
    expected = [event for _, event in stream]
    assert parse([data]) == expected
    assert parse(split(data, cuts)) == expected
    assert parse([data[i : i + 1] for i in range(len(data))]) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(msg(), hmsg(), control()), max_size=5), st.binary(max_size=400))
def test_random_bytes_raise_only_a_protocol_error(
    prefix: list[tuple[bytes, Event]], garbage: bytes
) -> None:
    data = b"".join(raw for raw, _ in prefix) + garbage
    events: list[Event] = []
    with contextlib.suppress(ProtocolError):
        parse([data], events)
    # what came before the garbage was delivered whole
    assert events[: len(prefix)] == [event for _, event in prefix]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=600), st.lists(st.integers(0, 10**6), max_size=10))
def test_random_bytes_in_any_pieces_never_raise_anything_else(
    garbage: bytes, cuts: list[int]
) -> None:
    with contextlib.suppress(ProtocolError):
        parse(split(garbage, cuts))


def test_an_error_mid_stream_is_reported_between_the_messages_around_it() -> None:
    data = (
        b"MSG a.b 1 5\r\nfirst\r\n"
        b"-ERR 'Permissions Violation for Publish to \"x.y\"'\r\n"
        b"HMSG c.d 2 _INBOX.1 12 17\r\nNATS/1.0\r\n\r\nlater\r\n"
    )
    for cut in range(len(data) + 1):
        events = parse([data[:cut], data[cut:]])
        assert [e[:2] for e in events] == [("msg", b"a.b"), ("control", b"-ERR"), ("msg", b"c.d")]
        assert events[1][2] == b"'Permissions Violation for Publish to \"x.y\"'"
        assert events[2][3:] == (b"_INBOX.1", b"NATS/1.0\r\n\r\n", b"later")


def test_lies_about_sizes_are_protocol_errors() -> None:
    for bad in (
        b"MSG a 1 3\r\nabcdef\r\n",  # body longer than announced
        b"MSG a 1 x\r\n",
        b"MSG a\r\n",
        b"HMSG a 1 20 10\r\n",  # headers larger than the whole
        b"HMSG a 1 12 14\r\nHTTP/1.1 200\r\nxx\r\n",
        b"MSG a 1 999999999999\r\n",
        b"HELLO\r\n",
        b"x" * (1024 * 1024 + 1),
    ):
        try:
            parse([bad])
        except ProtocolError:
            continue
        raise AssertionError(f"accepted {bad[:40]!r}")


@settings(max_examples=200, deadline=None)
@given(streams, st.integers(0, 10**6), st.integers(0, 255), st.lists(st.integers(0, 10**6)))
def test_a_corrupted_byte_in_a_valid_stream_raises_only_a_protocol_error(
    stream: list[tuple[bytes, Event]], where: int, byte: int, cuts: list[int]
) -> None:
    data = bytearray(b"".join(raw for raw, _ in stream) or b"PING\r\n")
    data[where % len(data)] = byte
    with contextlib.suppress(ProtocolError):
        parse(split(bytes(data), cuts))
