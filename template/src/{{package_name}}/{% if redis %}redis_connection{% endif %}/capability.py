"""Redis: one shared client for the rate limiter, refresh tokens and chat fan-out."""

from __future__ import annotations

from fastapi import FastAPI

from ..capability import Capability
from ..settings import Settings
from .client import build_redis, redis_lifespan


def setup(app: FastAPI, settings: Settings) -> None:
    """Create the client before the first request; it connects lazily."""
    app.state.redis = build_redis(settings)


CAPABILITY = Capability(name="redis", setup=setup, lifespan=redis_lifespan)
