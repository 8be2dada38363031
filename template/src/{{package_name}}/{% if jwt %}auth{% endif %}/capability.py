"""JWT bearer authentication: login, refresh and token checks on every guarded route."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.security import OAuth2PasswordBearer

from ..api import API_PREFIX
from ..capability import Capability, Mount
from ..middleware.authentication import Authenticator
from ..settings import Settings
from . import routes
from .bearer import BearerAuthenticator
from .service import auth_lifespan, build_auth
from .tokens import with_signing_secret

# Declared for OpenAPI (the docs' Authorize button); the middleware checks tokens.
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=API_PREFIX + routes.TOKEN_PATH,
    auto_error=False,
    description="A JWT from POST /api/v1/auth/token (or the mint-token command).",
)


def mounts(settings: Settings) -> Sequence[Mount]:
    return [Mount(API_PREFIX, routes.router)]


def setup(app: FastAPI, settings: Settings) -> None:
    app.state.auth = build_auth(app, settings)


def authenticators(app: FastAPI, settings: Settings) -> Sequence[Authenticator]:
    return [BearerAuthenticator.from_settings(settings)]


CAPABILITY = Capability(
    name="jwt",
    mounts=mounts,
    complete_settings=with_signing_secret,
    setup=setup,
    lifespan=auth_lifespan,
    authenticators=authenticators,
    auth_schemes=[bearer_scheme],
    # Every /api/v1 route but logging in needs a token or an API key.
    requires_authentication=True,
    public_paths=frozenset(API_PREFIX + path for path in (routes.TOKEN_PATH, routes.REFRESH_PATH)),
)
