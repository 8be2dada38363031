"""Typed accessors for what routes need, as FastAPI dependencies.

Objects are created once in ``main.create_app`` and kept on ``app.state``;
these functions are the only place that knows where. They are ``async def``
although they never await: FastAPI runs a plain ``def`` dependency in a worker
thread, and that hop per dependency per request cost more than the whole
middleware stack (measured with ``bench/run.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from ..identity import Identity
from ..lifecycle import Lifecycle
from ..llm.port import LLM
from ..ratelimit.concurrency import ConcurrencyLimiter
from ..ratelimit.port import RateLimiter
from ..settings import Settings

# Declared for OpenAPI (the docs' Authorize button); AuthenticationMiddleware
# has already verified whatever the caller sent.
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from APP_API_KEYS."
)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_llm(request: Request) -> LLM:
    llm: LLM = request.app.state.llm
    return llm


async def get_lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def get_concurrency_limiter(request: Request) -> ConcurrencyLimiter:
    limiter: ConcurrencyLimiter = request.app.state.concurrency_limiter
    return limiter


async def get_identity(
    request: Request, _api_key: Annotated[str | None, Security(api_key_scheme)] = None
) -> Identity | None:
    """The caller, as resolved by the authentication middleware (None: anonymous)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity


SettingsDep = Annotated[Settings, Depends(get_settings)]
LLMDep = Annotated[LLM, Depends(get_llm)]
LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]
IdentityDep = Annotated[Identity | None, Depends(get_identity)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
ConcurrencyLimiterDep = Annotated[ConcurrencyLimiter, Depends(get_concurrency_limiter)]
