"""``/api/v1/auth``: log in, refresh, and ask who you are."""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from ..api.dependencies import IdentityDep
from ..core_settings import Tier
from ..errors import AppError, error_responses
from ..identity import AuthMethod
from ..ratelimit.port import RateLimitBackendError, RateLimiter
from .refresh import RefreshRejectedError, family_of
from .service import AuthService, TokenPair
from .tokens import TokenIssuingDisabledError

logger = structlog.get_logger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])

TOKEN_PATH = "/auth/token"  # noqa: S105 - a path, not a password
REFRESH_PATH = "/auth/refresh"
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class TokenResponse(BaseModel):
    """A new access token and the refresh token that replaces it when it expires."""

    access_token: str = Field(
        description="JWT to send as `Authorization: Bearer <token>`.",
        examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"],
    )
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.", examples=[900])
    refresh_token: str = Field(
        description="Single-use token for `POST /api/v1/auth/refresh`; rotated on every use.",
        examples=["Jd8l0cE2x1Qb4cM9.mAF6q1iXvG3o2dWfK0sTQ7uRzYhN5bLp8eCjV4aIxwE"],
    )

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
        )


class RefreshRequest(BaseModel):
    """The refresh token from the last login or refresh."""

    model_config = ConfigDict(strict=True)

    refresh_token: str = Field(
        min_length=1,
        max_length=256,
        description="The most recent refresh token; each one works once.",
        examples=["Jd8l0cE2x1Qb4cM9.mAF6q1iXvG3o2dWfK0sTQ7uRzYhN5bLp8eCjV4aIxwE"],
    )


class MeResponse(BaseModel):
    """The authenticated caller, as the rate limiter sees it."""

    subject: str = Field(description="User name (JWT `sub`) or API-key digest.", examples=["alice"])
    tier: Tier = Field(description="Rate-limit tier.", examples=["pro"])
    method: AuthMethod = Field(description="How the caller authenticated.", examples=["jwt"])


def get_auth(request: Request) -> AuthService:
    auth: AuthService = request.app.state.auth
    return auth


AuthDep = Annotated[AuthService, Depends(get_auth)]


def _issuing_disabled() -> AppError:
    return AppError(501, "token_issuing_disabled", str(TokenIssuingDisabledError()))


async def _count_login(limiter: RateLimiter, key: str) -> None:
    try:
        decision = await limiter.hit(key, "anonymous")
    except RateLimitBackendError:
        # Redis is down and the failure policy is "closed", as for request quotas.
        raise AppError(
            503,
            "rate_limit_unavailable",
            "Rate limiting is temporarily unavailable; try again shortly.",
            headers={"Retry-After": "1"},
        ) from None
    if not decision.allowed:
        raise AppError(
            429,
            "rate_limit_exceeded",
            "Too many login attempts; try again later.",
            headers={"Retry-After": str(decision.retry_after)},
        )


@router.post(
    "/token",
    summary="Log in with a username and password",
    responses={
        **error_responses(400, 401, 413, 422, 429, 501, 503),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln",
                        "token_type": "bearer",
                        "expires_in": 900,
                        "refresh_token": "Jd8l0cE2x1Qb4cM9.mAF6q1iXvG3o2dWfK0sTQ7uRz",
                    }
                }
            }
        },
    },
)
async def issue_token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthDep
) -> TokenResponse:
    """OAuth2 password flow (form fields `username`, `password`) against `APP_AUTH_USERS`.

    Attempts are limited per client address, and per username from one address.
    """
    if auth.issuer is None:
        raise _issuing_disabled()
    client_ip = request.client.host if request.client else "unknown"
    await _count_login(auth.login_limit_per_ip, client_ip)
    await _count_login(auth.login_limit_per_account, f"{client_ip}:{form.username}")
    tier = await auth.users.authenticate(form.username, form.password)
    if tier is None:
        logger.info("login_failed", username=form.username)
        raise AppError(
            401, "invalid_credentials", "Wrong username or password.", headers=BEARER_CHALLENGE
        )
    return TokenResponse.of(await auth.start_session(form.username, tier))


@router.post(
    "/refresh",
    summary="Trade a refresh token for new tokens",
    responses=error_responses(400, 401, 413, 422, 429, 501, 503),
)
async def refresh_token(body: RefreshRequest, auth: AuthDep) -> TokenResponse:
    """Spend the refresh token and get a new pair; reusing a spent one revokes its session."""
    if auth.issuer is None:
        raise _issuing_disabled()
    try:
        subject = await auth.refresh_store.spend(body.refresh_token, auth.refresh_ttl_seconds)
        tier = auth.users.tier_of(subject)
    except RefreshRejectedError as exc:
        if exc.reason == "reused":
            logger.warning("refresh_token_reused", detail="session revoked")
        tier = None
    if tier is None:
        raise AppError(
            401,
            "invalid_refresh_token",
            "The refresh token is not valid; log in again.",
            headers=BEARER_CHALLENGE,
        )
    pair = await auth.continue_session(subject, tier, family_of(body.refresh_token))
    return TokenResponse.of(pair)


@router.get("/me", summary="Who am I", responses=error_responses(401, 429))
async def me(identity: IdentityDep) -> MeResponse:
    """The caller's identity and rate-limit tier, from the bearer token or API key."""
    if identity is None:
        raise AppError(401, "unauthorized", "Authentication is required.", BEARER_CHALLENGE)
    return MeResponse(subject=identity.subject, tier=identity.tier, method=identity.method)
