"""Outbound connections that go only where they may: the address of every connection is checked first.

The gateway fetches URLs that others choose (media by URL, webhook deliveries), so a caller could point
it at addresses only the gateway can reach: its own loopback services, the LAN, a cloud's metadata
service. Here a connection's host is resolved once (`resolve`, bounded by RESOLVE_TIMEOUT), every
address it resolves to is checked (`kind_of`, then the caller's `Check`), and the connection goes to an
address that was checked: a name cannot resolve to an allowed address for the check and to another for
the connection. The check sits under httpx (`GuardedBackend`, an httpcore network backend), so every
connection is checked, redirect hops included, while the Host header, the TLS server name and the
certificate check stay on the name of the URL.

`kind_of` names what an address is when it is not a public one:

    metadata     169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200 (cloud instance metadata)
    unspecified  0.0.0.0/8, ::                       link-local  169.254.0.0/16, fe80::/10
    loopback     127.0.0.0/8, ::1                    multicast   224.0.0.0/4, ff00::/8
    shared       100.64.0.0/10 (carrier-grade NAT)   private     10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    reserved     anything else that is not globally routable (broadcast, 240/4, documentation ranges …)

An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, 6to4
2002::/16, NAT64 64:ff9b::/96 and 64:ff9b:1::/48) is what the IPv4 address inside it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Collection, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Why a connection to (address, port) is refused, or None when it may go ahead.
Check = Callable[[IPAddress, int], str | None]

RESOLVE_TIMEOUT = 5.0
# The kinds WAQTOR_MEDIA_ALLOW_PRIVATE opens, and that webhooks (the admin's own systems) may always reach.
LOCAL = frozenset({"loopback", "private", "shared"})

_ip = ipaddress.ip_address
_net = ipaddress.ip_network
METADATA = frozenset({_ip("169.254.169.254"), _ip("169.254.170.2"), _ip("fd00:ec2::254"), _ip("100.100.100.200")})
_THIS_NETWORK = _net("0.0.0.0/8")
_SHARED = _net("100.64.0.0/10")
_PRIVATE = (_net("10.0.0.0/8"), _net("172.16.0.0/12"), _net("192.168.0.0/16"), _net("fc00::/7"))
_CARRIES_IPV4 = (_net("::/96"), _net("64:ff9b::/96"), _net("64:ff9b:1::/48"))


class Refused(httpcore.ConnectError):
    """A connection the check does not allow. httpx raises it as httpx.ConnectError; the text (for the
    log, never for a caller who chose the URL) says which address and why."""


def address(text: str) -> IPAddress | None:
    """`text` as an IP address (brackets and a zone id allowed; an IPv4-mapped one as IPv4), or None."""
    try:
        ip = _ip(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _carried(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _CARRIES_IPV4) and int(ip) > 1:  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def kind_of(ip: IPAddress) -> str | None:
    """What `ip` is when it is not a public address (see the module's table); None for a public one."""
    if ip in METADATA:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _carried(ip)) is not None:
        return kind_of(inner)
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED:
        return "shared"
    if any(ip in net for net in _PRIVATE) or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def refusal(ip: IPAddress, allowed: Collection[str] = ()) -> str | None:
    """Why a connection to `ip` is refused when only public addresses and the kinds in `allowed` may be
    reached; None when it may. Metadata and link-local addresses cannot be allowed."""
    kind = kind_of(ip)
    if kind is None or (kind in allowed and kind in LOCAL):
        return None
    return f"{ip} is a {kind} address"


async def lookup(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now, as text, in the resolver's order (tests replace this)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` (a name or an IP literal) resolves to, each once. Raises OSError or
    UnicodeError when it does not resolve, TimeoutError after RESOLVE_TIMEOUT seconds."""
    literal = address(host)
    if literal is not None:
        return [literal]
    async with asyncio.timeout(RESOLVE_TIMEOUT):
        found = await lookup(host, port)
    addresses = dict.fromkeys(ip for ip in map(address, found) if ip is not None)
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    return list(addresses)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check in front: `connect_tcp` resolves the host once, refuses
    (Refused) when the check refuses any of its addresses, and connects to those addresses in turn."""

    def __init__(self, check: Check) -> None:
        self._check = check
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except (OSError, UnicodeError, ValueError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc or type(exc).__name__}") from exc
        for ip in addresses:
            if (reason := self._check(ip, port)) is not None:
                raise Refused(f"{host}:{port} refused: {reason}")
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are not reached from here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport whose connections go through `GuardedBackend(check)`. Environment proxies
    are not used: through a proxy the address reached could not be checked."""

    def __init__(self, check: Check, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx takes no network backend yet (encode/httpx#3749), so its pool is replaced by one that has it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(check),
        )


def guarded_client(
    check: Check,
    *,
    limits: httpx.Limits | None = None,
    timeout: httpx.Timeout | float = 5.0,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An httpx client whose every connection, redirect hops included, `check` allows first. Its owner
    closes it."""
    return httpx.AsyncClient(
        transport=GuardedTransport(check, limits or httpx.Limits()),
        trust_env=False,
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        headers=headers,
    )
