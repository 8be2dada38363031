"""Who is calling and under which key they are counted, settled once per request.

A quota belongs to the user (JWT subject), else the API key, else the client
address. The address is ``scope["client"]`` as the outermost middleware left
it: already resolved through the trusted proxies, so every limiter that keys
on it (the request quota, open streams and sockets, chat messages, GraphQL
operations) counts the same caller.
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.types import Scope

from ..core_settings import Tier
from ..identity import Identity

# Where the authentication middleware leaves the caller: ``scope["state"][CALLER]``.
CALLER = "caller"


class Caller(NamedTuple):
    """The identity (None when anonymous), the quota key and the tier it is counted at.

    The key never contains a secret: identities hold digests.
    """

    identity: Identity | None
    key: str
    tier: Tier


def caller_for(identity: Identity | None, scope: Scope) -> Caller:
    """The caller of a request or WebSocket, given who authentication found."""
    if identity is not None and identity.method != "anonymous":
        return Caller(identity, f"{identity.method}:{identity.subject}", identity.tier)
    client: tuple[str, int] | None = scope.get("client")
    tier: Tier = identity.tier if identity is not None else "anonymous"
    return Caller(identity, f"ip:{client[0] if client else 'unknown'}", tier)


def caller_of(scope: Scope) -> Caller:
    """The caller the authentication middleware settled for this scope."""
    caller: Caller = scope["state"][CALLER]
    return caller
