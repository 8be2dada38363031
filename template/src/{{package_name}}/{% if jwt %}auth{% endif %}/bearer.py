"""The bearer-token authenticator the authentication middleware runs on ``/api/v1``.

A token arrives in ``Authorization: Bearer <token>`` or, for browsers opening a
WebSocket (which cannot set headers), as the subprotocol pair
``["bearer", "<token>"]`` in ``Sec-WebSocket-Protocol``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Scope

from ..identity import Identity
from ..middleware.authentication import AuthenticationError, header_value
from ..settings import Settings
from .tokens import InvalidTokenError, StaticKey, TokenVerifier, VerificationKey, VerifiedToken

WEBSOCKET_SUBPROTOCOL = "bearer"


class VerifiedTokenCache:
    """Recently verified tokens, so a client's repeated calls skip signature checks.

    Bounded (least recently used entries go first) and honouring ``exp``: an
    entry is only trusted until the token's own expiry, so the cache never
    extends a token's life. Keyed by the whole token, so any change to it misses.
    """

    def __init__(self, max_entries: int = 1024, leeway: float = 0.0) -> None:
        self.max_entries = max_entries
        self.leeway = leeway
        self._entries: OrderedDict[str, VerifiedToken] = OrderedDict()

    def get(self, token: str) -> VerifiedToken | None:
        found = self._entries.get(token)
        if found is None:
            return None
        if time.time() > found.expires_at + self.leeway:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return found

    def put(self, token: str, verified: VerifiedToken) -> None:
        self._entries[token] = verified
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def build_verification_key(settings: Settings) -> VerificationKey:
    """The key source the settings pin: shared secret, PEM public key or JWKS URL."""
    if settings.jwt_uses_secret:
        return StaticKey(settings.jwt_secret.get_secret_value())
    if settings.jwt_public_key:
        import jwt  # on first use, as in TokenVerifier.verify

        algorithm: Any = jwt.get_algorithm_by_name(settings.jwt_algorithm)
        return StaticKey(algorithm.prepare_key(settings.jwt_public_key.encode()))
    assert settings.jwt_jwks_url is not None  # settings validation guarantees one source
    # Imported here: the JWKS client brings an HTTP client that only this key source needs.
    from .jwks import JwksKeySource

    return JwksKeySource(settings.jwt_jwks_url, settings.jwt_jwks_cache_seconds)


class BearerAuthenticator:
    """``Authorization: Bearer`` (or the WebSocket subprotocol pair) to an ``Identity``."""

    def __init__(self, verifier: TokenVerifier, cache: VerifiedTokenCache | None = None) -> None:
        self.verifier = verifier
        self.cache = cache

    @classmethod
    def from_settings(cls, settings: Settings) -> BearerAuthenticator:
        verifier = TokenVerifier(settings, build_verification_key(settings))
        return cls(verifier, VerifiedTokenCache(leeway=settings.jwt_leeway_seconds))

    async def authenticate(self, headers: Headers, scope: Scope) -> Identity | None:
        token = bearer_token(headers, scope)
        if token is None:
            return None
        verified = self.cache.get(token) if self.cache is not None else None
        if verified is None:
            try:
                verified = await self.verifier.verify(token)
            except InvalidTokenError as exc:
                raise AuthenticationError(str(exc)) from None
            if self.cache is not None:
                self.cache.put(token, verified)
        return verified.identity

    async def aclose(self) -> None:
        closer = getattr(self.verifier.key, "aclose", None)
        if closer is not None:
            await closer()


def bearer_token(headers: Headers, scope: Scope) -> str | None:
    """The presented token; None when the caller sent no bearer credential at all.

    A bearer scheme with no usable token is an error, not an absent credential.
    """
    authorization = header_value(headers, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        if not token or " " in token:
            raise AuthenticationError("The Authorization header is malformed.")
        return token
    if scope["type"] == "websocket":
        offered = [item.strip() for item in headers.get("sec-websocket-protocol", "").split(",")]
        if WEBSOCKET_SUBPROTOCOL in offered:
            position = offered.index(WEBSOCKET_SUBPROTOCOL)
            if position + 1 >= len(offered) or not offered[position + 1]:
                raise AuthenticationError("The bearer subprotocol carries no token.")
            return offered[position + 1]
    return None
