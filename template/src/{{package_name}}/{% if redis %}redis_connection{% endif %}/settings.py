"""The Redis capability's settings: where Redis is, how long to wait, and what an outage does."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..core_settings import SettingsBase


class RedisSettings(SettingsBase):
    """The shared Redis and the rate limiter's policy while it is unreachable."""

    redis_url: str = "redis://localhost:6379/0"
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    rate_limit_failure_policy: Literal["open", "closed"] = Field(
        default="open",
        description="When Redis is down: admit requests (open) or refuse them with 503 (closed).",
    )
