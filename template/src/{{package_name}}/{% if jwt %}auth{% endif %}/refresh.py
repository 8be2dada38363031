"""Refresh tokens: opaque, single use, rotated on every refresh, grouped in families.

A login starts a family. Each refresh spends the presented token and issues
the next one in the same family. Presenting a spent token again means it was
copied (by an attacker or a buggy client): the whole family is revoked, so
whoever holds the newest token must log in again.

Tokens look like ``<family>.<secret>``; stores keep only a SHA-256 of the
token, never the token itself. This module holds the in-memory store (one per
process: with several workers each keeps its own families, see docs/authentication.md);
with Redis, ``refresh_redis.RedisRefreshStore`` shares them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..errors import AppError

RejectionReason = Literal["unknown", "reused", "revoked"]


class RefreshStoreUnavailableError(AppError):
    """The store cannot be reached: a retryable 503, never a 500 or a lost session."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "auth_unavailable",
            "Signing in is temporarily unavailable; try again shortly.",
            {"Retry-After": "1"},
        )


class RefreshRejectedError(Exception):
    """The refresh token cannot be used; ``reason`` says why (for logs, not clients)."""

    def __init__(self, reason: RejectionReason) -> None:
        super().__init__(reason)
        self.reason = reason


def new_family() -> str:
    return secrets.token_urlsafe(12)


def new_refresh_token(family: str) -> str:
    return f"{family}.{secrets.token_urlsafe(32)}"


def family_of(token: str) -> str:
    family, dot, secret = token.partition(".")
    if not family or not dot or not secret or len(token) > 256:
        raise RefreshRejectedError("unknown")
    return family


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshStore(Protocol):
    """Where refresh tokens and revoked families live."""

    async def add(self, token: str, subject: str, ttl_seconds: int) -> None:
        """Remember a new, unspent token of ``family_of(token)`` for ``subject``.

        Raise ``RefreshStoreUnavailableError`` when the store cannot be reached.
        """
        ...

    async def spend(self, token: str, ttl_seconds: int) -> str:
        """Mark the token spent and return its subject, atomically.

        Raise ``RefreshRejectedError``: "unknown" (never issued or expired),
        "revoked" (its family was revoked), or "reused" (already spent; this
        call revokes the family for ``ttl_seconds``); ``RefreshStoreUnavailableError``
        when the store cannot be reached.
        """
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Record:
    subject: str
    family: str
    expires_at: float
    spent: bool = False


@dataclass
class MemoryRefreshStore:
    """Refresh tokens in this process's memory: lost on restart, not shared by workers.

    Safe under concurrency without locks: ``spend`` does not await between
    its check and its update, so two refreshes with one token cannot both win.
    """

    prune_every: int = 256
    _records: dict[str, _Record] = field(default_factory=dict)
    _revoked: dict[str, float] = field(default_factory=dict)
    _writes: int = 0

    async def add(self, token: str, subject: str, ttl_seconds: int) -> None:
        self._prune()
        expires_at = time.time() + ttl_seconds
        self._records[token_digest(token)] = _Record(subject, family_of(token), expires_at)

    async def spend(self, token: str, ttl_seconds: int) -> str:
        family = family_of(token)
        now = time.time()
        if self._revoked.get(family, 0.0) > now:
            raise RefreshRejectedError("revoked")
        record = self._records.get(token_digest(token))
        if record is None or record.expires_at <= now or record.family != family:
            raise RefreshRejectedError("unknown")
        if record.spent:
            self._revoked[family] = now + ttl_seconds
            raise RefreshRejectedError("reused")
        record.spent = True
        return record.subject

    def _prune(self) -> None:
        """Drop expired entries now and then, so memory follows live sessions only."""
        self._writes += 1
        if self._writes % self.prune_every:
            return
        now = time.time()
        self._records = {k: r for k, r in self._records.items() if r.expires_at > now}
        self._revoked = {k: until for k, until in self._revoked.items() if until > now}

    async def aclose(self) -> None:
        self._records.clear()
        self._revoked.clear()
