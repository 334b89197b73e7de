"""SSRF guard: which addresses newswire may connect to.

Feed and article URLs are written by strangers. Every connection newswire opens goes through
`GuardedBackend`, which resolves the host itself, refuses the connection if any address is
loopback, private, link-local (cloud metadata included), CGNAT, multicast, unspecified or
otherwise not global (an IPv6 address that carries an IPv4 address, mapped, compatible,
translated, NAT64 or 6to4, judged by that IPv4 address too), and then connects to the
checked address, so a DNS answer that changes between check and connect (rebinding) cannot
slip through. Redirects open new connections, so every hop is checked the same way.

`http.allow_private_networks` turns the guard off; `http.allow_hosts` lets named hosts or IP
networks through (for feeds on an intranet, or tests serving from 127.0.0.1). Requests sent
through a configured proxy connect to the proxy, which is the operator's to trust.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


class BlockedAddress(httpcore.ConnectError, OSError):
    """The host resolves to an address the guard refuses; nothing was sent to it. (An
    OSError too, as aiohttp reports only those out of a lookup as connection errors.)"""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, with the form's name: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
    (64:ff9b::/96, and the local-use 64:ff9b:1::/48 at both its /48 and /96 positions) and
    6to4 (2002::/16). A packet to one of these may reach that IPv4 address."""
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if value >> 32 == 0 and value > 1:
        found.append(("IPv4-compatible", low32))
    if value >> 32 == 0xFFFF0000:
        found.append(("IPv4-translated", low32))
    if ip in NAT64:
        found.append(("NAT64", low32))
    if ip in NAT64_LOCAL:
        # RFC 6052 at /48: bits 48-63 and 72-87 (bits 64-71 are the reserved u octet)
        high, low = (value >> 64) & 0xFFFF, (value >> 40) & 0xFFFF
        found += [("NAT64", low32), ("NAT64", ipaddress.IPv4Address(high << 16 | low))]
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    return found


def refusal(ip: IPAddress) -> str | None:
    """Why connecting to `ip` is refused, or None when it is a public address. An IPv6
    address carrying an IPv4 address is refused when that IPv4 address would be."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # an IPv4 address in IPv6 clothing: judged as IPv4
            return refusal(ip.ipv4_mapped)
        for form, inner in embedded_ipv4(ip):
            why = refusal(inner)
            if why is not None:
                return f"{why}, {form}"
    checks = (
        (ip in METADATA, "cloud metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT, "CGNAT"),
        (ip.is_private, "private"),
        (not ip.is_global, "not a global address"),
    )
    return next((why for refused, why in checks if refused), None)


class AddressGuard:
    """The connection policy: refuse what `refusal` names, unless allowed by config."""

    def __init__(self, allow_private: bool = False, allow: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self._hosts: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._hosts.add(entry.lower().rstrip("."))

    def check(self, host: str, ip: IPAddress) -> str | None:
        """Why `host` at `ip` may not be connected to, or None when it may."""
        if self.allow_private or host.lower().rstrip(".") in self._hosts:
            return None
        if any(ip in network for network in self._networks):
            return None
        return refusal(ip)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal is itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"{host}: {exc.strerror or exc}") from exc
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(found))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in front of every TCP connect."""

    def __init__(
        self,
        guard: AddressGuard,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, check every address, then connect to the first (checked) one."""
        addresses = await self._resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address")
        for ip in addresses:
            why = self._guard.check(host, ip)
            if why is not None:
                raise BlockedAddress(f"{host} resolves to {ip} ({why}): refused")
        failure: httpcore.ConnectError | None = None
        for ip in addresses:  # each checked address in turn, as resolved
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are never a fetch target."""
        raise BlockedAddress(f"unix socket {path}: refused")

    async def sleep(self, seconds: float) -> None:
        """Delegate."""
        await self._inner.sleep(seconds)
