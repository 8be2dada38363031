"""Sign and verify access tokens with PyJWT, under rules pinned by settings.

Verification accepts only the configured algorithm, requires ``sub``, ``exp``,
``iat``, ``iss`` and ``aud``, and allows a small leeway for clock skew, so a
token minted by any standard JWT library with the same key and claims is
accepted and anything else is refused.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, get_args

import structlog
from pydantic import SecretStr

from ..identity import Identity
from ..settings import Settings
from .settings import UserTier

logger = structlog.get_logger(__name__)

REQUIRED_CLAIMS = ("sub", "exp", "iat", "iss", "aud")
USER_TIERS: tuple[str, ...] = get_args(UserTier)
# A real access token is a few hundred bytes; refusing big ones before any
# parsing keeps hostile input cheap.
MAX_TOKEN_BYTES = 4096
MAX_HEADER_BYTES = 512


class InvalidTokenError(Exception):
    """The token must not be trusted; the message is safe to show to the client."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What the service trusts after verification."""

    subject: str
    tier: UserTier
    expires_at: float
    identity: Identity = field(init=False, repr=False, compare=False)
    """The caller, built once with the token, so a cached token costs no new object per request."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", Identity(self.subject, self.tier, "jwt"))


class VerificationKey(Protocol):
    """Where the key that checks a token's signature comes from."""

    async def key_for(self, token: str) -> Any:
        """The key for this token; raise ``InvalidTokenError`` when none fits."""
        ...


@dataclass(frozen=True, slots=True)
class StaticKey:
    """A shared secret (HS*) or a PEM public key (RS256/ES256) known at startup."""

    key: Any

    async def key_for(self, token: str) -> Any:
        return self.key


def with_signing_secret(settings: Settings) -> Settings:
    """Settings with a usable HS secret: in development an ephemeral one, with a warning.

    Production refuses to start without a secret (settings validation); in
    development and tests the service still runs, but its tokens die with the
    process and each worker has its own secret.
    """
    if not settings.jwt_uses_secret or settings.jwt_secret.get_secret_value():
        return settings
    logger.warning(
        "jwt_ephemeral_secret",
        detail="APP_JWT_SECRET is not set: using a random secret; tokens die on restart",
    )
    return settings.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(48))})


class TokenVerifier:
    """Verify access tokens exactly as settings say; nothing is taken from the token itself."""

    def __init__(self, settings: Settings, key: VerificationKey) -> None:
        self.key = key
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway_seconds

    async def verify(self, token: str) -> VerifiedToken:
        # PyJWT is imported on first use: it imports cryptography whenever that is
        # installed, a large share of every start of the service, and only
        # requests that carry a token need it.
        import jwt

        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidTokenError("The bearer token is too large.")
        if len(token.partition(".")[0]) > MAX_HEADER_BYTES:
            raise InvalidTokenError("The bearer token's header is too large.")
        key = await self.key.key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                options={"require": list(REQUIRED_CLAIMS)},
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("The bearer token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("The bearer token is not valid yet.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidTokenError(f"The bearer token lacks the {exc.claim!r} claim.") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise InvalidTokenError("The bearer token is meant for another service.") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("The bearer token is not valid.") from None
        return _trusted(claims)


def _trusted(claims: dict[str, Any]) -> VerifiedToken:
    subject, tier = claims["sub"], claims.get("tier", "free")
    if not isinstance(subject, str) or not subject:
        raise InvalidTokenError("The bearer token's subject is not valid.")
    if tier not in USER_TIERS:
        raise InvalidTokenError("The bearer token's tier is not valid.")
    return VerifiedToken(subject=subject, tier=tier, expires_at=float(claims["exp"]))


class TokenIssuer:
    """Mint access tokens signed with the shared secret (HS* only).

    With RS256/ES256 the service only verifies tokens from an identity
    provider; it holds no private key and issues nothing.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.jwt_uses_secret:
            raise TokenIssuingDisabledError
        self.secret = settings.jwt_secret.get_secret_value()
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.lifetime = timedelta(minutes=settings.jwt_access_token_minutes)

    def access_token(
        self, subject: str, tier: UserTier = "free", lifetime: timedelta | None = None
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "tier": tier,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + int((lifetime or self.lifetime).total_seconds()),
            "jti": secrets.token_urlsafe(12),
        }
        import jwt  # on first use, as in TokenVerifier.verify

        return jwt.encode(claims, self.secret, algorithm=self.algorithm)


class TokenIssuingDisabledError(Exception):
    """RS256/ES256 is configured: tokens come from the identity provider, not from here."""

    def __init__(self) -> None:
        super().__init__(
            "This service verifies tokens from an identity provider (RS256/ES256); "
            "it does not issue them."
        )
