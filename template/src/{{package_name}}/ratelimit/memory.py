"""In-process rate limiting: exact within one process, separate per worker.

Uses the ``limits`` library's async moving-window strategy on its in-memory
storage: one ``hit`` both checks and counts, so concurrent requests in one
process cannot over-admit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ..settings import Tier
from .port import RateLimitDecision


class MemoryRateLimiter:
    """Per-process quotas for each tier, in the ``limits`` notation."""

    def __init__(self, tier_limits: Mapping[Tier, str]) -> None:
        self.items: dict[Tier, RateLimitItem] = {
            tier: parse(text) for tier, text in tier_limits.items()
        }
        self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: str, tier: Tier) -> RateLimitDecision:
        item = self.items[tier]
        allowed = await self.strategy.hit(item, key)
        stats = await self.strategy.get_window_stats(item, key)
        retry_after = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimitDecision(
            allowed=allowed,
            limit=item.amount,
            remaining=stats.remaining,
            retry_after=retry_after,
        )

    async def aclose(self) -> None:
        await self.storage.reset()
