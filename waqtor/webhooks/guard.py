"""Keep webhooks from calling the gateway itself (a webhook calling the gateway's own API would feed on its
own events), or a cloud's metadata service.

A URL is the gateway when its host and port are those the API request came in on (the Host header,
which is how callers reach it, proxies included), or when its port is the gateway's port and its host
resolves to a loopback address, to the address the gateway binds to, or (when it binds to every
address) to an address of this machine. `points_at_gateway` checks that when a webhook is created or
its URL changed. A name may resolve elsewhere later, so every delivery checks again where it connects
(`delivery_check`): not the gateway, and not a link-local, metadata, multicast or reserved address.
Loopback and private addresses stay allowed: a webhook's receiver is the admin's own system, often on
the same machine or the LAN.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from waqtor.netguard import LOCAL, Check, IPAddress, refusal, resolve

log = logging.getLogger(__name__)

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


async def _resolve(host: str, port: int) -> set[IPAddress]:
    try:
        return set(await resolve(host, port))
    except (OSError, TimeoutError, UnicodeError):
        log.debug("webhook URL host %r does not resolve now", host)
        return set()


def _is_local(ip: IPAddress) -> bool:
    """True when `ip` is an address of this machine: only those can be bound to."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(ip), 0))
        return True
    except OSError:
        return False


def _reaches_gateway(ip: IPAddress, port: int, origin: Origin, bound: set[IPAddress]) -> bool:
    """Whether a connection to `ip` (as `resolve` gives it: IPv4-mapped read as IPv4) and `port` is one to
    the gateway."""
    if origin.bind_port == 0 or port != origin.bind_port:
        return False
    if ip.is_loopback or ip.is_unspecified or ip in bound:
        return True
    return origin.bind_host in ANY_ADDRESS and _is_local(ip)


async def _bound(origin: Origin, port: int) -> set[IPAddress]:
    """The addresses the gateway binds to; empty when it binds to every address."""
    return set() if origin.bind_host in ANY_ADDRESS else await _resolve(origin.bind_host, port)


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
    bound = await _bound(origin, port)
    return any(_reaches_gateway(ip, port, origin, bound) for ip in await _resolve(host, port))


async def delivery_check(origin: Origin) -> Check:
    """The check every delivery's connection passes (see `waqtor.netguard`): refused when it reaches the
    gateway itself, or an address that is neither public nor loopback, private or carrier-grade NAT."""
    bound = await _bound(origin, origin.bind_port)

    def check(ip: IPAddress, port: int) -> str | None:
        if _reaches_gateway(ip, port, origin, bound):
            return f"{ip}:{port} is this gateway"
        return refusal(ip, LOCAL)

    return check
