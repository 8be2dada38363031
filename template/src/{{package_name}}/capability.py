"""What a capability tells the application factory about itself.

Each capability package (``sse``, ``chat``, ``auth``, ...) describes itself in
its own ``capability.py`` as one ``Capability``; ``capabilities.py`` lists the
ones this service has, and ``main.create_app`` composes the service from that
list. Nothing outside a capability's package needs to know what is inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI
from fastapi.security.base import SecurityBase

from .errors import ErrorShape
from .middleware.authentication import Authenticator
from .settings import Settings


@dataclass(frozen=True, slots=True)
class Mount:
    """A router and what the service must know about it.

    ``guarded``: authentication and quotas apply to every path under
    ``prefix``. ``error_shape``: its clients expect errors in another shape.
    ``page_policies``: the Content-Security-Policy of each HTML page it serves.
    """

    prefix: str
    router: APIRouter
    guarded: bool = True
    error_shape: ErrorShape | None = None
    page_policies: Mapping[str, str] = field(default_factory=dict)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def no_mounts(settings: Settings) -> Sequence[Mount]:
    return ()


def no_setup(app: FastAPI, settings: Settings) -> None:
    return None


def no_authenticators(app: FastAPI, settings: Settings) -> Sequence[Authenticator]:
    return ()


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability of the service, as ``create_app`` composes it.

    Capabilities are set up in the order ``capabilities.py`` lists them, so a
    capability may use what an earlier one put on ``app.state`` (the Redis
    client, for one); their lifespans open in that order and close in reverse.
    """

    name: str
    mounts: Callable[[Settings], Sequence[Mount]] = no_mounts
    """Its routers; built from the settings where they depend on them."""
    complete_settings: Callable[[Settings], Settings] | None = None
    """Fills in what it derives at start-up (a generated signing secret)."""
    setup: Callable[[FastAPI, Settings], None] = no_setup
    """Puts its shared objects on ``app.state`` while the app is built."""
    lifespan: Lifespan | None = None
    """Opens its resources at startup and closes them at shutdown."""
    authenticators: Callable[[FastAPI, Settings], Sequence[Authenticator]] = no_authenticators
    """Ways a caller may prove who it is, tried after API keys."""
    auth_schemes: Sequence[SecurityBase] = ()
    """How OpenAPI documents those ways (the docs' Authorize button)."""
    requires_authentication: bool = False
    """Whether every guarded route then needs a caller (else only with API keys)."""
    public_paths: frozenset[str] = frozenset()
    """Guarded paths that anyone may call (logging in)."""
    in_protocol_websocket_paths: frozenset[str] = frozenset()
    """WebSocket paths that authenticate inside their own protocol."""
    self_counting_paths: frozenset[str] = frozenset()
    """Paths that charge their quota themselves, per operation."""
    cors_exposed_headers: Sequence[str] = ()
    """Response headers that cross-origin pages may read."""
    cors_allowed_headers: Sequence[str] = ()
    """Request headers that cross-origin pages may send, beside the core's."""
