"""What every rate-limit backend provides, and what callers get back.

The HTTP middleware, WebSocket messages and GraphQL operations all go through
``RateLimiter.hit``, so one caller has one quota whichever door it uses.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from ..core_settings import Tier


class RateLimitDecision(NamedTuple):
    """The outcome of one check, with what the response headers report.

    A NamedTuple: immutable like a frozen dataclass but cheaper to build, and
    one is built for every request.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    """Whole seconds until a refused caller may try again (0 when allowed)."""


class RateLimitBackendError(Exception):
    """The shared store could not be reached; the failure policy decides what happens."""


class RateLimiter(Protocol):
    """Counts hits per key against the quota of the caller's tier."""

    async def hit(self, key: str, tier: Tier) -> RateLimitDecision:
        """Count one hit for ``key`` and say whether it is within the tier's quota."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once at shutdown."""
        ...


class ConcurrencyLimitExceededError(Exception):
    """A caller already holds as many long-lived slots (open streams) as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"At most {limit} concurrent streams are allowed per caller.")
        self.limit = limit


class Counter(Protocol):
    """Something that counts events (a prometheus-client counter, for one)."""

    def inc(self, amount: float = 1) -> None: ...
