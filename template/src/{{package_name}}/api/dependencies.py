"""Typed accessors for what routes need, as FastAPI dependencies.

Objects are created once in ``main.create_app`` and kept on ``app.state``;
these functions are the only place that knows where. They are ``async def``
although they never await: FastAPI runs a plain ``def`` dependency in a worker
thread, and that hop per dependency per request costs more than the whole
middleware stack.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from ..identity import Identity
from ..settings import Settings

# Declared for OpenAPI (the docs' Authorize button); AuthenticationMiddleware
# has already verified whatever the caller sent. Capabilities that add ways to
# authenticate declare their own schemes (``Capability.auth_schemes``).
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from APP_API_KEYS."
)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_identity(
    request: Request,
    _api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Identity | None:
    """The caller, as resolved by the authentication middleware (None: anonymous)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity


SettingsDep = Annotated[Settings, Depends(get_settings)]
IdentityDep = Annotated[Identity | None, Depends(get_identity)]
