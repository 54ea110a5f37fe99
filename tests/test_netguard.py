"""What netguard calls each address, and what the media and webhook rules let through."""

from __future__ import annotations

import pytest

from waqtor import netguard
from waqtor.netguard import LOCAL, address, kind_of, refusal


def resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> None:
    """Have these names resolve to these addresses, as a DNS server an attacker controls would; the dict
    may change later, as such a server's answers do (other names resolve as usual)."""
    real = netguard.lookup

    async def lookup(host: str, port: int) -> list[str]:
        return names[host] if host in names else await real(host, port)

    monkeypatch.setattr(netguard, "lookup", lookup)


@pytest.mark.parametrize(("text", "kind"), [
    ("93.184.215.14", None),
    ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ("::ffff:93.184.215.14", None),
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("::127.0.0.1", "loopback"), ("2002:7f00:1::", "loopback"),
    ("64:ff9b::7f00:1", "loopback"), ("64:ff9b:1::7f00:1", "loopback"),
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"), ("fec0::1", "private"), ("2002:c0a8:101::", "private"),
    ("100.64.0.1", "shared"), ("100.127.255.254", "shared"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"), ("::ffff:169.254.1.1", "link-local"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("100.100.100.200", "metadata"),
    ("::ffff:169.254.169.254", "metadata"), ("64:ff9b::a9fe:a9fe", "metadata"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved"), ("240.0.0.1", "reserved"), ("192.0.2.1", "reserved"),
    ("2001:db8::1", "reserved"),
])
def test_every_kind_of_address_is_named(text: str, kind: str | None) -> None:
    ip = address(text)
    assert ip is not None
    assert kind_of(ip) == kind


def test_allowing_local_kinds_never_allows_metadata_link_local_or_multicast() -> None:
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.3.4", "fe80::1", "224.0.0.1",
                 "0.0.0.0", "240.0.0.1"):
        ip = address(text)
        assert ip is not None and refusal(ip, LOCAL) is not None, text
    for text in ("127.0.0.1", "10.0.0.1", "100.64.0.1", "fd12::1"):
        ip = address(text)
        assert ip is not None and refusal(ip, LOCAL) is None and refusal(ip) is not None, text


@pytest.mark.parametrize(("text", "parsed"), [("[::1]", "::1"), ("fe80::1%eth0", "fe80::1"),
                                              ("::ffff:10.0.0.1", "10.0.0.1"), ("example.com", None)])
def test_addresses_are_read_in_the_forms_urls_and_resolvers_give(text: str, parsed: str | None) -> None:
    ip = address(text)
    assert (str(ip) if ip is not None else None) == parsed
