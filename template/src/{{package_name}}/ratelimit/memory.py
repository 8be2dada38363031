"""In-process rate limiting: exact within one process, separate per worker.

Counts with the sliding window counter (see ``sliding_window``): two integers
per caller. A check reads and updates its counter without awaiting anything,
so on one event loop no two checks interleave and concurrent requests cannot
over-admit; no lock is needed.

Memory is bounded twice: callers whose windows have passed are dropped, and at
most ``max_keys`` callers are tracked at all. The table is kept in
least-recently-seen order, so a flood of one-off client addresses evicts other
one-off addresses, while callers that keep coming back stay counted. (The
``limits`` library's in-memory storage keeps one timestamp per request and has
no cap; its expiry sweep visits every key through a worker thread.)
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..core_settings import Tier
from .port import RateLimitDecision
from .sliding_window import decide

# The ``limits`` library's notation, read here: importing that library for
# this one expression costs every process start more than the rest of the
# rate limiting does.
QUOTA_NOTATION = re.compile(
    r"\s*(\d+)\s*(?:/|\s*per\s*)\s*(\d+)?\s*(second|minute|hour|day|month|year)s?\s*",
    re.IGNORECASE,
)
UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 60 * 60,
    "day": 24 * 60 * 60,
    "month": 30 * 24 * 60 * 60,
    "year": 12 * 30 * 24 * 60 * 60,
}


@dataclass(frozen=True, slots=True)
class Quota:
    """One tier's quota: ``limit`` requests per rolling ``window`` seconds."""

    limit: int
    window: float

    @classmethod
    def parse(cls, text: str) -> Quota:
        """Read ``COUNT/UNIT`` or ``COUNT per N UNITs`` (``60/minute``, ``10/2 minutes``)."""
        match = QUOTA_NOTATION.fullmatch(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a quota: write COUNT/UNIT or COUNT per N UNITs with a unit"
                " of second, minute, hour, day, month or year (60/minute, 1000 per hour,"
                " 10/2 minutes)"
            )
        count, multiple, unit = match.groups()
        return cls(limit=int(count), window=float(int(multiple or 1) * UNIT_SECONDS[unit.lower()]))


def parse_quotas(tier_limits: Mapping[Tier, str]) -> dict[Tier, Quota]:
    return {tier: Quota.parse(text) for tier, text in tier_limits.items()}


@dataclass(slots=True)
class _Counter:
    index: int
    """Which window ``current`` counts (``floor(now / window)``)."""
    previous: int
    current: int
    expires_at: float
    """When both counts have aged out and the entry means nothing any more."""


class MemoryRateLimiter:
    """Per-process quotas for each tier, in the ``limits`` notation."""

    def __init__(
        self,
        tier_limits: Mapping[Tier, str],
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.quotas = parse_quotas(tier_limits)
        self.max_keys = max_keys
        self.evictions = 0
        """Callers dropped while their window was still open (a flood, or too small a cap)."""
        self._clock = clock
        self._counters: OrderedDict[str, _Counter] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counters)

    async def hit(self, key: str, tier: Tier) -> RateLimitDecision:
        quota = self.quotas[tier]
        now = self._clock()
        index = math.floor(now / quota.window)
        elapsed = now - index * quota.window
        counter_key = f"{tier}:{key}"
        counters = self._counters
        counter = counters.get(counter_key)
        if counter is None:
            counter = counters[counter_key] = _Counter(index, 0, 0, 0.0)
        else:
            counters.move_to_end(counter_key)  # now the most recently seen caller
            counter.previous, counter.current = _roll(counter, index)
            counter.index = index
        outcome = decide(counter.previous, counter.current, elapsed, quota.window, quota.limit)
        counter.current = outcome.current
        counter.expires_at = (index + 2) * quota.window
        self._evict(now)
        return RateLimitDecision(
            allowed=outcome.allowed,
            limit=quota.limit,
            remaining=outcome.remaining,
            retry_after=0 if outcome.allowed else max(1, math.ceil(outcome.retry_after)),
        )

    def _evict(self, now: float) -> None:
        """Drop expired callers from the cold end, then the coldest beyond the cap."""
        counters = self._counters
        while counters:
            coldest = next(iter(counters.values()))
            if coldest.expires_at > now:
                break
            counters.popitem(last=False)
        while len(counters) > self.max_keys:
            counters.popitem(last=False)
            self.evictions += 1

    async def aclose(self) -> None:
        self._counters.clear()


def _roll(counter: _Counter, index: int) -> tuple[int, int]:
    """The (previous, current) counts as seen from window ``index``."""
    if counter.index == index:
        return counter.previous, counter.current
    if counter.index == index - 1:
        return counter.current, 0
    return 0, 0
