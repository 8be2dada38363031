"""The sliding-window-counter decision, shared by the in-memory and Redis backends.

Why this algorithm: a fixed window lets a caller spend two quotas back to back
across a boundary; an exact sliding log (the ``limits`` moving window) stores
one timestamp per admitted request, so memory per caller grows with the quota
(3000 entries for a 3000/minute caller); GCRA stores one number but, with a
burst of N, admits close to 2N in the first period, which is not what
"60/minute" promises. The sliding window counter keeps two integers per caller
(this window's count and the previous one's) and weights the previous count by
how much of it still overlaps the rolling window. It is O(1) in time and memory,
has no boundary burst, and errs only where the previous window's requests were
unevenly spread, which Cloudflare's analysis of its own traffic found rare.

``ratelimit/redis.py`` runs the same arithmetic in a Lua script; keep the two in
step.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class WindowOutcome(NamedTuple):  # built per request: a tuple is cheaper than a frozen dataclass
    allowed: bool
    current: int
    """This window's count after the check (incremented only when allowed)."""
    remaining: int
    retry_after: float
    """Seconds until one more request would be admitted (0 when allowed)."""


def decide(previous: int, current: int, elapsed: float, window: float, limit: int) -> WindowOutcome:
    """Admit one request if the weighted count leaves room for it.

    ``elapsed`` is how far into the current window we are, in the same unit as
    ``window``. A refused request changes nothing, so hammering a full quota
    does not push the caller's reset further away.
    """
    used = previous * (window - elapsed) / window + current
    if used + 1 <= limit:
        return WindowOutcome(True, current + 1, max(0, math.floor(limit - used - 1)), 0.0)
    return WindowOutcome(False, current, 0, _wait(previous, current, elapsed, window, limit))


def _wait(previous: int, current: int, elapsed: float, window: float, limit: int) -> float:
    if current + 1 > limit:
        # Only the next window has room; there this window's count is the one
        # being weighted down as the next window advances.
        into_next = window * (current + 1 - limit) / current if current else 0.0
        return window - elapsed + max(0.0, into_next)
    # Room opens within this window, as the previous window's weight shrinks.
    return max(0.0, window * (previous + current + 1 - limit) / previous - elapsed)
