"""The hot path over either client (`FLOWMAESTRO_HOT_PATH_CLIENT`), and `connect()` with
TLS and an nkey from the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nats.js.api import RetentionPolicy, StreamConfig

from flowmaestro.runtime import ContinuousPull, EmbeddedNats, connect
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.errors import PayloadTooLargeError
from flowmaestro.runtime.hotpath import HOT_PATH_CLIENT_ENV, NatsPyHotPath
from flowmaestro.runtime.natstls import NKEY_SEED_ENV, TLS_CA_ENV
from flowmaestro.runtime.publisher import JetStreamPublisher
from flowmaestro.runtime.wire import Wire, WireMsg
from tests.integration.test_wire_server import nats_with, new_seed
from tests.support.gateway import eventually
from tests.support.tls import self_signed


@pytest.mark.parametrize("client", ["wire", "nats-py"])
async def test_publish_pull_ack_and_size_limit_over_either_client(
    nats_server: EmbeddedNats, client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOT_PATH_CLIENT_ENV, client)
    nc = await connect(nats_server.url, name=f"hot-{client}")
    tag = client.replace("-", "").upper()
    try:
        hot = await wire_of(nc)
        assert isinstance(hot, Wire if client == "wire" else NatsPyHotPath)
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=f"HOT_{tag}", subjects=[f"hot{tag}.>"], retention=RetentionPolicy.WORK_QUEUE
            )
        )
        await js.add_consumer(f"HOT_{tag}", durable_name="w", ack_policy="explicit")
        pull = ContinuousPull(nc, f"HOT_{tag}", "w", 10)
        await pull.start()
        publisher = JetStreamPublisher(nc)
        ack = await (await publisher.publish(f"hot{tag}.job", b"job", {"Nats-Msg-Id": "j1"}))
        [msg] = await asyncio.wait_for(pull.next_batch(), 5)
        assert (msg.data, msg.seq, msg.deliveries) == (b"job", ack.seq, 1)
        await msg.ack()
        await pull.done()

        async def drained() -> bool:
            return (await js.stream_info(f"HOT_{tag}")).state.messages == 0

        await eventually(drained, 5)
        await pull.stop()
        with pytest.raises(PayloadTooLargeError):
            hot.publish(f"hot{tag}.big", b"x" * (hot.max_payload + 1))
    finally:
        await nc.close()


async def test_connect_takes_tls_and_an_nkey_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, ["localhost"], ("127.0.0.1",))
    seed, public = new_seed(tmp_path, "svc")
    config = (
        f'tls {{ cert_file: "{cert}", key_file: "{key}" }}\n'
        f"authorization {{ users = [ {{ nkey: {public} }} ] }}"
    )
    with nats_with(tmp_path, "secure", config) as port:
        monkeypatch.setenv(TLS_CA_ENV, str(cert))
        monkeypatch.setenv(NKEY_SEED_ENV, str(seed))
        monkeypatch.setenv(HOT_PATH_CLIENT_ENV, "wire")
        nc = await connect(f"nats://127.0.0.1:{port}", name="secure", persistent=False)
        try:
            wire = await wire_of(nc)
            assert isinstance(wire, Wire) and wire.tls
            got: list[WireMsg] = []
            wire.subscribe("secure.>", got.append)
            await wire.flush()
            await nc.publish("secure.a", b"from nats-py")  # the other client, same settings
            wire.publish("secure.b", b"from the lean connection")

            async def both() -> bool:
                return len(got) == 2

            await eventually(both, 5)
        finally:
            await nc.close()
