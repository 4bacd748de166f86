"""The lean connection honours what a server's INFO says: TLS, authentication (password,
nkey, credentials file), headers, lame-duck mode and a cluster's other servers; it fails
over through a list of servers and survives a server that speaks garbage."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import nkeys
import pytest

from flowmaestro.runtime.embedded import die_with_parent, free_port, nats_server_binary
from flowmaestro.runtime.wire import Wire, WireClosedError, WireMsg
from tests.support.gateway import eventually
from tests.support.tls import self_signed


@contextmanager
def nats_with(tmp_path: Path, name: str, config: str, port: int | None = None) -> Iterator[int]:
    """A nats-server with `config` added to its listen address; yields its client port."""
    port = port or free_port()
    path = tmp_path / f"{name}.conf"
    path.write_text(f'listen: "127.0.0.1:{port}"\n{config}\n')
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"nats-server {name} did not start") from None
            time.sleep(0.05)
    started[port] = proc
    try:
        yield port
    finally:
        started.pop(port, None)
        proc.kill()  # a lame duck would take its time to stop
        proc.wait(10)


started: dict[int, subprocess.Popen[bytes]] = {}
"""The servers `nats_with` runs now, by client port."""


def _has(got: list[WireMsg], count: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return len(got) >= count

    return probe


async def round_trip(wire: Wire, subject: str) -> None:
    got: list[WireMsg] = []
    sid = wire.subscribe(subject, got.append)
    await wire.flush()
    wire.publish(subject, b"hello", headers={"X-Test": "1"})
    await eventually(_has(got, 1), 5)
    assert (got[0].data, got[0].headers) == (b"hello", {"X-Test": "1"})
    wire.unsubscribe(sid)


async def test_a_server_requiring_tls_gets_tls_and_its_certificate_is_checked(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path, ["localhost"], ("127.0.0.1",))
    with nats_with(tmp_path, "tls", f'tls {{ cert_file: "{cert}", key_file: "{key}" }}') as port:
        trusting = ssl.create_default_context(cafile=str(cert))
        wire = await Wire(f"nats://127.0.0.1:{port}", "t", tls=trusting).connect()
        try:
            assert wire.server_info["tls_required"] is True and wire.tls
            await round_trip(wire, "tls.a")
        finally:
            await wire.close()
        # without the certificate in its trust store the client refuses the server
        with pytest.raises(ssl.SSLCertVerificationError):
            await Wire(f"nats://127.0.0.1:{port}", "t", persistent=False).connect()


async def test_a_tls_url_never_talks_in_clear_to_a_server_without_tls(tmp_path: Path) -> None:
    with (
        nats_with(tmp_path, "plain", "") as port,
        pytest.raises(ConnectionRefusedError, match="offers no TLS"),
    ):
        await Wire(f"tls://127.0.0.1:{port}", "t", persistent=False).connect()


async def test_authentication_is_required_refused_and_given(tmp_path: Path) -> None:
    config = 'authorization { user: "svc", password: "s3cret" }'
    with nats_with(tmp_path, "auth", config) as port:
        with pytest.raises(ConnectionRefusedError, match="requires authentication"):
            await Wire(f"nats://127.0.0.1:{port}", "t", persistent=False).connect()
        with pytest.raises(ConnectionRefusedError, match="Authorization Violation"):
            await Wire(
                f"nats://127.0.0.1:{port}", "t", persistent=False, user="svc", password="no"
            ).connect()
        for wire in (
            Wire(f"nats://svc:s3cret@127.0.0.1:{port}", "t"),
            Wire(f"nats://127.0.0.1:{port}", "t", user="svc", password="s3cret"),
        ):
            await wire.connect()
            try:
                await round_trip(wire, "auth.a")
            finally:
                await wire.close()


def new_seed(folder: Path, name: str) -> tuple[Path, str]:
    """A user nkey seed in a file, and its public key."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    path = folder / f"{name}.nk"
    path.write_bytes(seed + b"\n")
    public: bytes = nkeys.from_seed(bytearray(seed)).public_key  # pyright: ignore[reportAssignmentType]
    return path, public.decode()


async def test_an_nkey_seed_signs_the_servers_nonce(tmp_path: Path) -> None:
    seed, public = new_seed(tmp_path, "user")
    stranger, _ = new_seed(tmp_path, "stranger")
    config = f"authorization {{ users = [ {{ nkey: {public} }} ] }}"
    with nats_with(tmp_path, "nkey", config) as port:
        wire = await Wire(f"nats://127.0.0.1:{port}", "t", nkeys_seed=seed).connect()
        try:
            assert wire.server_info.get("nonce")
            await round_trip(wire, "nkey.a")
        finally:
            await wire.close()
        with pytest.raises(ConnectionRefusedError, match="Authorization Violation"):
            await Wire(
                f"nats://127.0.0.1:{port}", "t", persistent=False, nkeys_seed=stranger
            ).connect()


async def test_a_credentials_file_sends_its_jwt_and_signs_the_nonce(tmp_path: Path) -> None:
    seed_path, _ = new_seed(tmp_path, "creds")
    seed = seed_path.read_bytes().strip()
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln"
    creds = tmp_path / "user.creds"
    creds.write_text(
        f"-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed.decode()}\n------END USER NKEY SEED------\n"
    )
    seen: list[dict[str, str]] = []

    async def checking_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"fake","headers":true,"auth_required":true,')
        writer.write(b'"nonce":"n0nce-123"}\r\n')
        connect = json.loads((await reader.readline())[len("CONNECT ") :])
        seen.append(connect)
        signature = base64.urlsafe_b64decode(connect["sig"] + "==")
        nkeys.from_seed(bytearray(seed)).verify(b"n0nce-123", signature)  # raises if forged
        while line := await reader.readline():
            if line.startswith(b"PING"):
                writer.write(b"PONG\r\n")
        writer.close()

    server = await asyncio.start_server(checking_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = await Wire(f"nats://127.0.0.1:{port}", "t", credentials_file=creds).connect()
    try:
        assert wire.connected and seen[0]["jwt"] == jwt and "nkey" not in seen[0]
    finally:
        await wire.close()
        server.close()


async def test_a_server_without_headers_gets_none(tmp_path: Path) -> None:
    connects: list[dict[str, object]] = []

    async def old_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"old","max_payload":1024}\r\n')
        connects.append(json.loads((await reader.readline())[len("CONNECT ") :]))
        while line := await reader.readline():
            if line.startswith(b"PING"):
                writer.write(b"PONG\r\n")
        writer.close()

    server = await asyncio.start_server(old_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = await Wire(f"nats://127.0.0.1:{port}", "t").connect()
    try:
        assert connects[0]["headers"] is False and not wire.headers_supported
        with pytest.raises(WireClosedError, match="does not accept headers"):
            wire.publish("a", b"x", headers={"Nats-Msg-Id": "1"})
        wire.publish("a", b"x")
        await wire.flush()
    finally:
        await wire.close()
        server.close()


async def test_garbage_from_the_server_drops_the_connection_and_it_is_made_again() -> None:
    connections = 0

    async def garbled_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b'INFO {"server_id":"fake","headers":true}\r\n')
        await reader.readline()  # CONNECT
        pings = 0
        while line := await reader.readline():
            if line.startswith(b"PING"):
                pings += 1
                writer.write(b"PONG\r\n")
                if connections == 1 and pings == 2:  # the handshake's, then the flush's
                    writer.write(b"MSG a 1 3\r\nabcdefgh\r\n\x00\xff\x13garbage\r\n")
        writer.close()

    server = await asyncio.start_server(garbled_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = await Wire(f"nats://127.0.0.1:{port}", "t", reconnect_wait=0.01).connect()
    reconnected = asyncio.Event()
    wire.on_reconnect(reconnected.set)
    try:
        await wire.flush()  # the server garbles after answering this
        await asyncio.wait_for(reconnected.wait(), 5)
        assert connections == 2
        await wire.flush()  # the new connection works
    finally:
        await wire.close()
        server.close()


async def test_a_permission_error_mid_stream_leaves_the_connection_working(
    tmp_path: Path,
) -> None:
    config = (
        'authorization { users = [ { user: "u", password: "p", permissions: '
        '{ publish: ["ok.>", "_INBOX.>"], subscribe: ["ok.>", "_INBOX.>"] } } ] }'
    )
    with nats_with(tmp_path, "perm", config) as port:
        wire = await Wire(f"nats://u:p@127.0.0.1:{port}", "t").connect()
        try:
            got: list[WireMsg] = []
            wire.subscribe("ok.>", got.append)
            wire.publish("ok.1", b"before")
            wire.publish("forbidden.x", b"refused")
            wire.publish("ok.2", b"after")
            await wire.flush()
            await eventually(_has(got, 2), 5)
            assert [m.data for m in got] == [b"before", b"after"]
            assert wire.last_error is not None and "Permissions Violation" in wire.last_error
            assert wire.connected
        finally:
            await wire.close()


async def test_a_list_of_servers_is_tried_in_turn(tmp_path: Path) -> None:
    with nats_with(tmp_path, "second", "") as port:
        wire = Wire(f"nats://127.0.0.1:{free_port()},nats://127.0.0.1:{port}", "t")
        await wire.connect()
        try:
            assert wire.server == f"127.0.0.1:{port}"
            await round_trip(wire, "list.a")
        finally:
            await wire.close()


def cluster_config(name: str, route_port: int, other_route: int) -> str:
    return (
        f'server_name: "{name}"\nlame_duck_duration: "30s"\nlame_duck_grace_period: "10s"\n'
        f'cluster {{ name: "c", listen: "127.0.0.1:{route_port}", '
        f'routes: ["nats-route://127.0.0.1:{other_route}"] }}'
    )


async def test_a_cluster_is_learned_and_a_lame_duck_left_for_another_server(
    tmp_path: Path,
) -> None:
    ra, rb = free_port(), free_port()
    with (
        nats_with(tmp_path, "a", cluster_config("a", ra, rb)) as a,
        nats_with(tmp_path, "b", cluster_config("b", rb, ra)) as b,
    ):
        wire = Wire(f"nats://127.0.0.1:{a}", "t", reconnect_wait=0.05)
        await wire.connect()
        reconnected = asyncio.Event()
        wire.on_reconnect(reconnected.set)
        try:

            async def learned() -> bool:
                return f"127.0.0.1:{b}" in [s.address for s in wire.servers]

            await eventually(learned, 10)
            got: list[WireMsg] = []
            wire.subscribe("ldm.>", got.append)
            # lame duck mode: a's clients are told (INFO ldm) long before it closes them
            started[a].send_signal(signal.SIGUSR2)
            await asyncio.wait_for(reconnected.wait(), 5)
            assert wire.server == f"127.0.0.1:{b}"
            wire.publish("ldm.after", b"on b")
            await eventually(_has(got, 1), 5)
            assert got[0].data == b"on b"
        finally:
            await wire.close()
