"""The caller's address, believing ``X-Forwarded-For`` only from trusted proxies.

Anyone can send ``X-Forwarded-For``; only a proxy we run appends a true entry.
So the header counts only when the connecting peer is a trusted proxy, and
then it is read from the right: each trusted hop is skipped, and the first
address a trusted proxy vouches for that is not itself a trusted proxy is the
client. Entries further left were written by the client and are ignored, so
forging the header cannot buy a fresh quota.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.types import Scope

FORWARDED_FOR = b"x-forwarded-for"


def parse_networks(entries: Iterable[str]) -> tuple[IPv4Network | IPv6Network, ...]:
    """IPs or CIDR networks; raises ``ValueError`` naming a malformed entry."""
    return tuple(ip_network(entry.strip(), strict=False) for entry in entries)


class ClientAddress:
    """Resolve a scope's client IP given the trusted proxies (``APP_TRUSTED_PROXIES``)."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self.networks = parse_networks(trusted_proxies)
        # Parsing an address costs more than the rest of a rate-limit check;
        # the peers (our proxies) are few, so remember the answers.
        self.is_trusted = lru_cache(maxsize=1024)(self._is_trusted)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, scope: Scope) -> str | None:
        client: tuple[str, int] | None = scope.get("client")
        peer = client[0] if client else None
        if peer is None or not self.networks or not self.is_trusted(peer):
            return peer
        hops: list[str] = [
            hop.strip()
            for name, value in scope["headers"]
            if name == FORWARDED_FOR
            for hop in value.decode("latin-1").split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        # Every hop is one of ours: the leftmost is as close to the client as we know.
        return hops[0] if hops else peer
