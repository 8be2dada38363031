"""Resolve who is calling before anything else runs, and refuse bad credentials.

Authentication is middleware (not only a route dependency) so that the rate
limiter, WebSocket handshakes and GraphQL all see the same identity, and a
refused request never reaches a handler. Routes read the result through
``api.dependencies``, which also declares the schemes for OpenAPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..api import API_PREFIX
from ..errors import send_error
from ..identity import ApiKeyRegistry, Identity
from ..ratelimit.keys import CALLER, caller_for
from ..ratelimit.port import RateLimiter


class AuthenticationError(Exception):
    """Credentials were presented but are not valid: always a 401, never anonymous."""


class Authenticator(Protocol):
    """One way to authenticate (API key, bearer token, ...)."""

    async def authenticate(self, headers: Headers, scope: Scope) -> Identity | None:
        """The caller's identity, None when this kind of credential is absent.

        Raise ``AuthenticationError`` when it is present but invalid.
        """
        ...


def header_value(headers: Headers, name: bytes) -> str | None:
    """One header's value (``name`` in lower case), None when absent.

    ``headers.get()`` raises and catches a KeyError for every absent header,
    and each request misses at least one authenticator's header.
    """
    for key, value in headers.raw:
        if key == name:
            return value.decode("latin-1")
    return None


# Browsers cannot set headers on a WebSocket: they offer this subprotocol
# followed by the credential, ``new WebSocket(url, ["bearer", credential])``.
BEARER_SUBPROTOCOL = "bearer"


def bearer_credential(headers: Headers, scope: Scope) -> str | None:
    """``Authorization: Bearer <value>``, or a WebSocket's ``["bearer", value]`` subprotocols."""
    authorization = header_value(headers, b"authorization")
    if authorization is not None:
        if authorization[:7].lower() != "bearer ":
            return None
        return authorization[7:].strip() or None
    if scope["type"] == "websocket":
        offered = header_value(headers, b"sec-websocket-protocol")
        if offered is not None:
            names = [name.strip() for name in offered.split(",")]
            if BEARER_SUBPROTOCOL in names[:-1]:
                return names[names.index(BEARER_SUBPROTOCOL) + 1] or None
    return None


class ApiKeyAuthenticator:
    """``X-API-Key``, or a bearer credential, against ``APP_API_KEYS``.

    The bearer form is how OpenAI's clients send their key, and how a browser
    sends one on a WebSocket (the subprotocol pair ``["bearer", key]``). With no keys
    configured a bearer token is not this authenticator's business. When
    ``bearer_may_be_jwt``, a bearer that is not a configured key is left to the
    JWT authenticator after this one; otherwise it is an invalid key.
    """

    def __init__(self, registry: ApiKeyRegistry, *, bearer_may_be_jwt: bool = False) -> None:
        self.registry = registry
        self.bearer_may_be_jwt = bearer_may_be_jwt

    async def authenticate(self, headers: Headers, scope: Scope) -> Identity | None:
        presented = header_value(headers, b"x-api-key")
        if presented is not None:
            identity = self.registry.identify(presented)
            if identity is None:
                raise AuthenticationError("The API key is not valid.")
            return identity
        if not self.registry:
            return None
        presented = bearer_credential(headers, scope)
        if presented is None:
            return None
        identity = self.registry.identify(presented)
        if identity is None and not self.bearer_may_be_jwt:
            raise AuthenticationError("The API key is not valid.")
        return identity


class AuthenticationMiddleware:
    """Store the caller's ``Identity`` (or None) and their ``Caller`` in the scope state.

    Under the guarded prefixes (``/api/v1``, and ``/v1`` for OpenAI's clients)
    a request must authenticate when ``required`` is true,
    except on ``public_paths`` (for instance the token endpoint) and, for
    WebSocket handshakes only, on ``in_protocol_websocket_paths``: endpoints
    whose protocol carries credentials after the handshake (GraphQL's
    ``connection_init``), because browsers cannot set headers on a WebSocket.
    Those endpoints read ``authentication_required`` from the scope state and
    enforce it themselves.

    Invalid credentials are counted per client address on ``failure_limiter``:
    past its quota they are answered 429 instead of 401, so guessing keys or
    tokens from one address is slowed to the quota. Valid credentials from
    that address keep working.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticators: Sequence[Authenticator],
        required: bool,
        guarded_prefixes: tuple[str, ...] = (API_PREFIX,),
        public_paths: frozenset[str] = frozenset(),
        in_protocol_websocket_paths: frozenset[str] = frozenset(),
        failure_limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.guarded_prefixes = guarded_prefixes
        self.failure_limiter = failure_limiter
        self.authenticators = tuple(authenticators)
        self.required = required
        self.public_paths = public_paths
        self.in_protocol_websocket_paths = in_protocol_websocket_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(
            self.guarded_prefixes
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        identity: Identity | None = None
        try:
            for authenticator in self.authenticators:
                identity = await authenticator.authenticate(headers, scope)
                if identity is not None:
                    break
        except AuthenticationError as exc:
            # A public path (logging in, refreshing) ignores stale credentials:
            # a client that sends its expired token everywhere can still refresh it.
            if scope["path"] not in self.public_paths:
                await self._refuse_invalid(scope, send, str(exc))
                return
            identity = None
        if identity is None and self.required and not self._exempt(scope):
            await _refuse(scope, send, "Authentication is required.")
            return
        state = scope.setdefault("state", {})
        state["identity"] = identity
        state[CALLER] = caller_for(identity, scope)
        state["authentication_required"] = self.required
        await self.app(scope, receive, send)

    async def _refuse_invalid(self, scope: Scope, send: Send, message: str) -> None:
        if self.failure_limiter is not None:
            failures = await self.failure_limiter.hit(caller_for(None, scope).key, "anonymous")
            if not failures.allowed:
                await send_error(
                    scope,
                    send,
                    429,
                    "too_many_failed_credentials",
                    "Too many invalid credentials from this address; "
                    f"retry in {failures.retry_after} s.",
                    headers={"Retry-After": str(failures.retry_after)},
                )
                return
        await _refuse(scope, send, message)

    def _exempt(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path in self.public_paths:
            return True
        return scope["type"] == "websocket" and path in self.in_protocol_websocket_paths


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    await send_error(
        scope, send, 401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}
    )
