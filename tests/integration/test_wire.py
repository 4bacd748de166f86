"""The lean hot-path connection against a real nats-server: protocol, JetStream, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js.api import RetentionPolicy, StreamConfig
from nats.js.errors import APIError

from flowmaestro.runtime import ContinuousPull, EmbeddedNats, connect
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.errors import PayloadTooLargeError
from flowmaestro.runtime.publisher import JetStreamPublisher
from flowmaestro.runtime.wire import Wire, WireClosedError, WireMsg
from tests.support.gateway import eventually


def _has(got: list[WireMsg], count: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return len(got) >= count

    return probe


async def test_messages_with_headers_replies_and_large_payloads(nats_server: EmbeddedNats) -> None:
    wire = await Wire(nats_server.url, "t").connect()
    try:
        got: list[WireMsg] = []
        wire.subscribe("wire.t.>", got.append)
        big = bytes(range(256)) * 4000  # ~1 MB, arrives over many reads
        wire.publish("wire.t.a", b"plain")
        wire.publish("wire.t.b", b"with\r\nCRLF", reply="answer.here", headers={"X-One": "1"})
        wire.publish("wire.t.c", big, headers={"X-Two": "two words"})
        await wire.flush()
        await eventually(_has(got, 3), 5)
        a, b, c = got
        assert (a.subject, a.data, a.reply, a.headers, a.status) == (
            "wire.t.a",
            b"plain",
            "",
            {},
            None,
        )
        assert (b.data, b.reply, b.headers) == (b"with\r\nCRLF", "answer.here", {"X-One": "1"})
        assert c.data == big and c.headers == {"X-Two": "two words"}
    finally:
        await wire.close()
    with pytest.raises(WireClosedError):
        wire.publish("wire.t.a", b"after close")


async def test_publisher_acks_duplicates_and_errors(nc: Client) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="WIRE_PUB", subjects=["wirepub.>"]))
    publisher = JetStreamPublisher(nc)
    first = await (await publisher.publish("wirepub.x", b"1", {"Nats-Msg-Id": "k1"}))
    again = await (await publisher.publish("wirepub.x", b"1", {"Nats-Msg-Id": "k1"}))
    assert (first.stream, first.duplicate) == ("WIRE_PUB", False)
    assert (again.seq, again.duplicate) == (first.seq, True)
    with pytest.raises(APIError) as wrong_sequence:
        await (
            await publisher.publish(
                "wirepub.x", b"2", {"Nats-Expected-Last-Subject-Sequence": "99"}
            )
        )
    assert wrong_sequence.value.err_code == 10071
    with pytest.raises(APIError) as no_stream:
        await (await publisher.publish("nostream.x", b"3"))
    assert no_stream.value.code == 503


async def test_pull_delivers_with_metadata_and_redelivers_a_nak(nc: Client) -> None:
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name="WIRE_WQ", subjects=["wirewq.>"], retention=RetentionPolicy.WORK_QUEUE)
    )
    await js.add_consumer("WIRE_WQ", durable_name="w", ack_policy="explicit")
    pull = ContinuousPull(nc, "WIRE_WQ", "w", 10)
    await pull.start()
    try:
        ack = await js.publish("wirewq.job", b"job")
        [msg] = await asyncio.wait_for(pull.next_batch(), 5)
        assert (msg.data, msg.seq, msg.deliveries) == (b"job", ack.seq, 1)
        await msg.nak()
        await pull.done()
        [again] = await asyncio.wait_for(pull.next_batch(), 5)
        assert (again.seq, again.deliveries) == (ack.seq, 2)
        await again.ack()
        await pull.done()

        async def drained() -> bool:
            return (await js.stream_info("WIRE_WQ")).state.messages == 0

        await eventually(drained, 5)
    finally:
        await pull.stop()


async def test_a_server_restart_is_ridden_out(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats").start()
    nc = await connect(server.url, name="restart")
    try:
        wire = await wire_of(nc)
        reconnected = asyncio.Event()
        wire.on_reconnect(reconnected.set)
        got: list[WireMsg] = []
        wire.subscribe("wire.r", got.append)
        wire.publish("wire.r", b"before")
        await eventually(_has(got, 1), 5)
        server.stop()

        async def gone() -> bool:
            return not wire.connected

        await eventually(gone, 5)
        wire.publish("wire.r", b"queued while away")
        server.start()
        await asyncio.wait_for(reconnected.wait(), 10)
        wire.publish("wire.r", b"after")
        await eventually(_has(got, 3), 5)
        assert [m.data for m in got] == [b"before", b"queued while away", b"after"]
    finally:
        await nc.close()
        server.stop()


async def test_an_unreachable_server_fails_fast_when_not_persistent() -> None:
    wire = Wire("nats://127.0.0.1:1", "t", persistent=False, connect_timeout=1)
    with pytest.raises(OSError):
        await wire.connect()


async def test_a_server_that_stops_answering_is_dropped_and_dialled_again() -> None:
    connections = 0

    async def silent_after_hello(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        writer.write(b'INFO {"server_id":"fake","headers":true}\r\n')
        answered = False
        while line := await reader.readline():
            if line.startswith(b"PING") and not answered:  # the handshake's, then silence
                answered = True
                writer.write(b"PONG\r\n")
        writer.close()

    server = await asyncio.start_server(silent_after_hello, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = await Wire(f"nats://127.0.0.1:{port}", "t", ping_interval=0.05).connect()
    reconnected = asyncio.Event()
    wire.on_reconnect(reconnected.set)
    try:
        await asyncio.wait_for(reconnected.wait(), 5)
        assert connections >= 2
    finally:
        await wire.close()
        server.close()


async def test_a_message_over_the_servers_max_payload_is_refused_before_sending(
    nats_server: EmbeddedNats,
) -> None:
    wire = await Wire(nats_server.url, "t").connect()
    try:
        assert wire.server_info["max_payload"] == wire.max_payload == 1024 * 1024
        got: list[WireMsg] = []
        wire.subscribe("wire.max.>", got.append)
        with pytest.raises(PayloadTooLargeError) as refused:
            wire.publish("wire.max.a", b"x" * (wire.max_payload + 1))
        assert (refused.value.size, refused.value.limit) == (wire.max_payload + 1, 1048576)
        fits = b"x" * (wire.max_payload - 200)
        with pytest.raises(PayloadTooLargeError):  # the headers count too
            wire.publish("wire.max.b", fits, headers={"X-Pad": "p" * 300})
        wire.publish("wire.max.c", fits)
        await wire.flush()
        await eventually(_has(got, 1), 5)
        assert [m.subject for m in got] == ["wire.max.c"]
        assert wire.connected, "the connection survives: nothing too large was sent"
    finally:
        await wire.close()
