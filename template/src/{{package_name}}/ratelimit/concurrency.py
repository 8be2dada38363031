"""A cap on concurrent long-lived work (open streams, sockets) per caller, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .port import ConcurrencyLimitExceededError


class ConcurrencyLimiter:
    """Counts open slots per key; a slot is held for the life of a stream.

    Counters are per process: with several workers a caller may hold up to
    ``limit`` slots in each. Entries are removed when they reach zero, so
    memory follows the number of callers with open streams, nothing more.
    """

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def open_slots(self, key: str) -> int:
        return self._open.get(key, 0)

    @asynccontextmanager
    async def acquire(self, key: str, limit: int) -> AsyncIterator[None]:
        """Hold one slot for ``key``, or raise ``ConcurrencyLimitExceededError``."""
        current = self._open.get(key, 0)
        if current >= limit:
            raise ConcurrencyLimitExceededError(limit)
        self._open[key] = current + 1
        try:
            yield
        finally:
            self._open[key] -= 1
            if self._open[key] == 0:
                del self._open[key]
