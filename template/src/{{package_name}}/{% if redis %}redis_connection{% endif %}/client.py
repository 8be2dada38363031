"""The shared Redis client: one connection pool per process, opened by the lifespan.

Rate limits, refresh-token families and chat fan-out all use ``app.state.redis``.
Short timeouts keep a dead Redis from stalling requests; redis-py reconnects by
itself when the server returns.

Two choices differ from redis-py's defaults. A command is retried once, at
once: a pooled connection that a restarted Redis has dropped then costs nothing
(without a retry, the first command on it failed, and the rate limiter fell
back on its failure policy for a whole cooldown), while a Redis that is down
still fails in about a millisecond, so the callers' failure policies act at
once (a retry with backoff, as ``redis.Redis()`` has by default, keeps each
command trying until the caller's own timeout). And the pool waits up to the
timeout for a free connection when all are busy, where redis-py's default pool
raises at once, which a burst of requests would report as an outage.

Every connection introduces itself to Redis with the library's version
(``CLIENT SETINFO``); left to itself, redis-py reads that version from the
installed package's metadata on disk for each new connection. ``DRIVER_INFO``
gives it once, for every pool the service opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis as redis_package
import redis.asyncio as redis
from fastapi import FastAPI
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..settings import Settings

MAX_CONNECTIONS = 50
"""Per process; the rate limiter needs one at a time (it batches its checks)."""

DRIVER_INFO = redis_package.DriverInfo(lib_version=redis_package.__version__)


def build_redis(settings: Settings) -> redis.Redis:
    timeout = settings.redis_timeout_seconds
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), retries=1),
        health_check_interval=30,
        decode_responses=False,
        driver_info=DRIVER_INFO,
    )
    return redis.Redis.from_pool(pool)


@asynccontextmanager
async def redis_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Register the readiness check; close the pool at shutdown.

    The client itself is created in ``create_app`` so it exists before the
    first request; connecting is lazy, so a Redis that is down at startup only
    makes readiness fail, it does not stop the service from starting.
    """
    client: redis.Redis = app.state.redis

    async def check() -> str | None:
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            return f"unreachable: {type(exc).__name__}"
        return None

    app.state.readiness_checks["redis"] = check
    try:
        yield
    finally:
        await client.aclose()
