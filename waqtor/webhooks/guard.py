"""Refuse webhook URLs that point at the gateway itself (a webhook calling the gateway's own API would
feed on its own events).

A URL is the gateway when its host and port are those the API request came in on (the Host header,
which is how callers reach it, proxies included), or when its port is the gateway's port and its host
resolves to a loopback address, to the address the gateway binds to, or (when it binds to every
address) to an address of this machine. The check runs when a webhook is created or its URL changed;
a DNS name that later starts resolving elsewhere is not checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 2.0
ANY_ADDRESS = ("", "0.0.0.0", "::")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the gateway is: its bind address and port, and the host and port a request came in on."""

    bind_host: str
    bind_port: int
    request_host: str | None = None
    request_port: int | None = None


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def _address(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


async def _resolve(host: str, port: int) -> set[IPAddress]:
    literal = _address(host)
    if literal is not None:
        return {literal}
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        log.debug("webhook URL host %r does not resolve now", host)
        return set()
    found = {_address(str(info[4][0])) for info in infos}
    return {ip for ip in found if ip is not None}


def _is_local(ip: IPAddress) -> bool:
    """True when `ip` is an address of this machine: only those can be bound to."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(ip), 0))
        return True
    except OSError:
        return False


async def points_at_gateway(url: str, origin: Origin) -> bool:
    """Whether `url` (already checked to be http or https with a host) reaches this gateway."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or _default_port(parts.scheme)
    if (
        origin.request_host
        and host == origin.request_host.lower().rstrip(".")
        and port == origin.request_port
    ):
        return True
    if origin.bind_port == 0 or port != origin.bind_port:
        return False
    addresses = await _resolve(host, port)
    bind_any = origin.bind_host in ANY_ADDRESS
    bound = set() if bind_any else await _resolve(origin.bind_host, port)
    for ip in addresses:
        if ip.is_loopback or ip.is_unspecified or ip in bound:
            return True
        if bind_any and _is_local(ip):
            return True
    return False
