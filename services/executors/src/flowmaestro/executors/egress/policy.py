"""Which addresses a node may connect to.

A target is resolved once and every address it resolves to is checked; the caller then
connects to the checked address itself, so a second lookup cannot swap in another one.

Refused unless the operator's allow-list (`FLOWMAESTRO_EGRESS_ALLOW`, or its older name
`FLOWMAESTRO_HTTP_ALLOW`) names them: loopback, private, shared, link-local, unique-local,
site-local, unspecified, multicast, reserved and documentation addresses, and every IPv6
form that carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo). The
platform's own endpoints — its NATS servers, its PostgreSQL, its gateway and its metrics
endpoint — are refused even when allow-listed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError

__all__ = [
    "ALLOW_ENV",
    "ALLOW_ENV_OLD",
    "DENY_ENV",
    "EGRESS_KIND",
    "IPAddress",
    "Network",
    "allowed_networks",
    "check_address",
    "embedded_ipv4",
    "protect_nats",
    "resolve",
]

ALLOW_ENV = "FLOWMAESTRO_EGRESS_ALLOW"
ALLOW_ENV_OLD = "FLOWMAESTRO_HTTP_ALLOW"
DENY_ENV = "FLOWMAESTRO_EGRESS_DENY"
EGRESS_KIND = "egress"
"""The error kind of every refused connection."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "100::/64",  # discard
        "2001::/32",  # Teredo
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
_LOOPBACK = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))
_PLATFORM_TTL_S = 30.0


def _parse_networks(text: str, variable: str) -> list[Network]:
    networks: list[Network] = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise TerminalNodeError(
                    f"{variable}: {part.strip()!r} is not an address or network",
                    kind="configuration",
                ) from exc
    return networks


def allowed_networks() -> tuple[Network, ...]:
    """The operator's allow-list of otherwise refused networks."""
    networks = _parse_networks(os.environ.get(ALLOW_ENV, ""), ALLOW_ENV)
    networks += _parse_networks(os.environ.get(ALLOW_ENV_OLD, ""), ALLOW_ENV_OLD)
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in ipaddress.IPv6Network("::/96") and packed > 1:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    for prefix in ("64:ff9b::/96", "::ffff:0:0:0/96"):
        if address in ipaddress.IPv6Network(prefix):
            return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _REFUSED_V6):
        return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
    )


# --- the platform's own endpoints -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """A platform service: the addresses it is reached at, and its port."""

    host: str
    port: int


_nats_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_resolved: dict[str, tuple[float, frozenset[IPAddress]]] = {}


def protect_nats(nc: Any) -> None:
    """Count every server `nc` knows (given and discovered) as the platform's NATS."""
    _nats_clients.add(nc)


def _url_endpoint(url: str, scheme: str, default_port: int) -> _Endpoint | None:
    """The TCP endpoint a service URL names (`scheme://host:port`, a bare `host:port`, or
    a libpq `key=value` string); None for a Unix socket or what cannot be read."""
    url = url.strip()
    if "://" not in url and "=" in url:
        fields: dict[str, str] = {}
        for part in url.split():
            key, _, value = part.partition("=")
            fields[key] = value
        url = f"{scheme}://{fields.get('host', '')}:{fields.get('port') or default_port}"
    elif "://" not in url:
        url = f"{scheme}://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port or default_port
    except ValueError:
        return None
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    if not host or host.startswith("/"):
        return None  # a Unix socket: every Unix socket is refused anyway
    return _Endpoint(host, port)


def _platform_endpoints() -> list[_Endpoint]:
    """The platform's services as this process knows them: its NATS connections and the
    environment (`flowmaestro up` passes the same variables to every service)."""
    env = os.environ
    found: list[_Endpoint | None] = []
    for url in env.get("FLOWMAESTRO_NATS_URL", "").split(","):
        found.append(_url_endpoint(url, "nats", 4222) if url.strip() else None)
    for nc in list(_nats_clients):
        for server in [*getattr(nc, "servers", []), *getattr(nc, "discovered_servers", [])]:
            if server.hostname:
                found.append(_Endpoint(server.hostname, server.port or 4222))
    if database := env.get("FLOWMAESTRO_DATABASE_URL"):
        found.append(_url_endpoint(database, "postgresql", 5432))
    gateway = env.get("FLOWMAESTRO_GATEWAY_HOST", "127.0.0.1")
    found.append(
        _url_endpoint(f"{gateway}:{env.get('FLOWMAESTRO_GATEWAY_PORT', '8000')}", "http", 8000)
    )
    if metrics_port := env.get("FLOWMAESTRO_METRICS_PORT", "").strip():
        # this process's own /metrics (the other services' ports: FLOWMAESTRO_EGRESS_DENY)
        metrics_host = env.get("FLOWMAESTRO_METRICS_HOST", "127.0.0.1")
        found.append(_url_endpoint(f"{metrics_host}:{metrics_port}", "http", 0))
    for item in env.get(DENY_ENV, "").split(","):
        found.append(_url_endpoint(item, "tcp", 0) if item.strip() else None)
    return [e for e in found if e is not None and e.port]


async def _addresses_of(host: str) -> frozenset[IPAddress]:
    try:
        return frozenset({ipaddress.ip_address(host.split("%")[0])})
    except ValueError:
        pass
    cached = _resolved.get(host)
    if cached is not None and time.monotonic() - cached[0] < _PLATFORM_TTL_S:
        return cached[1]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        found = frozenset(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos)
    except (OSError, ValueError):
        found = frozenset()
    _resolved[host] = (time.monotonic(), found)
    return found


def _local(address: IPAddress) -> bool:
    return address.is_unspecified or any(address in n for n in _LOOPBACK)


async def _platform_match(addresses: Iterable[IPAddress], port: int) -> str | None:
    """The platform endpoint (`host:port`) one of `addresses` reaches at `port`, if any."""
    candidates = set(addresses)
    for endpoint in _platform_endpoints():
        if endpoint.port != port:
            continue
        own = await _addresses_of(endpoint.host)
        if any(a.is_unspecified for a in own):
            # Bound to every address: it also answers on this machine's own addresses.
            own = own | await _addresses_of(socket.gethostname())
        # A service bound to loopback or to every address answers on any local address.
        anywhere_local = any(_local(a) for a in own)
        for address in candidates:
            if address in own or (anywhere_local and _local(address)):
                return f"{endpoint.host}:{endpoint.port}"
    return None


def _named(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def check_address(address: IPAddress, port: int, host: str = "") -> None:
    """Refuse `address:port` unless the policy lets a node connect to it."""
    named = _named(host or str(address), port)
    inner = embedded_ipv4(address)
    # The platform is matched through every embedded form; the allow-list only through the
    # forms that reach the same host (IPv4-mapped and -compatible), not through a relay.
    reaching = [address]
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.IPv6Network("::/80"):
        reaching += [inner] if inner is not None else []
    if (
        platform := await _platform_match([address, *([inner] if inner else [])], port)
    ) is not None:
        raise TerminalNodeError(
            f"refusing {named}: it is the platform's own service {platform}", kind=EGRESS_KIND
        )
    if any(form in network for form in reaching for network in allowed_networks()):
        return
    if inner is not None or not _public(address):
        raise TerminalNodeError(
            f"refusing {named}: it resolves to the non-public address {address} "
            f"(the operator may allow it with {ALLOW_ENV})",
            kind=EGRESS_KIND,
        )


def _canonical_address(host: str) -> bool:
    try:
        return str(ipaddress.ip_address(host)) == host
    except ValueError:
        return False


async def _lookup(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RetryableNodeError(f"cannot resolve {host}: {exc}", kind="network") from exc
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


async def resolve(host: str, port: int) -> str:
    """The one checked address to connect to for `host:port`; refuses the target when any
    address it resolves to is refused."""
    if not host or host.startswith(("/", "@")) or "\x00" in host:
        raise TerminalNodeError(
            f"refusing {host!r}: Unix sockets and empty hosts are not reachable from nodes",
            kind=EGRESS_KIND,
        )
    if not 0 < port < 65536:
        raise TerminalNodeError(f"refusing {_named(host, port)}: no such port", kind=EGRESS_KIND)
    # An address in canonical form needs no lookup; other spellings go to the resolver.
    addresses = [host] if _canonical_address(host) else await _lookup(host, port)
    if not addresses:
        raise RetryableNodeError(f"{host} has no address", kind="network")
    for address in addresses:
        await check_address(ipaddress.ip_address(address), port, host)
    return addresses[0]
