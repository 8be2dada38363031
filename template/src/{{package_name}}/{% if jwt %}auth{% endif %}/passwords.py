"""Check logins against ``APP_AUTH_USERS`` with pwdlib (argon2), off the event loop.

Argon2 is deliberately slow and memory-hard (each check holds about 64 MiB
with pwdlib's recommended parameters), so checks run in worker threads, at most
``max_concurrent`` at once: a burst of logins waits its turn briefly, then gets
a retryable 503, instead of taking the process's memory and every other
request's latency with it. An unknown username's password is checked against
a configured user's hash (the dummy below when there are none), so it costs
what a wrong password costs with the parameters actually in use, and response
times do not reveal which usernames exist; it can never log anyone in.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

from ..errors import AppError
from .settings import AuthUser, UserTier

# pwdlib's recommended argon2id parameters (m=65536, t=3, p=4), as ``hash-password`` uses.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$VDaQVCBzOePoCE7vegFZZg$"
    "85C/QQTLlyVZcnbkelfuUeVtLj15fQMB8FvkoC82ojk"
)


def password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str, hasher: PasswordHash | None = None) -> str:
    """A hash for ``APP_AUTH_USERS`` (synchronous: for the CLI)."""
    return (hasher or password_hasher()).hash(password)


class LoginsBusyError(AppError):
    """Every password check slot stayed taken for the whole wait."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "logins_busy",
            "Too many logins at once; try again shortly.",
            {"Retry-After": "1"},
        )


class UserDirectory:
    """The configured users; ``authenticate`` answers in the same time for every failure."""

    def __init__(
        self,
        users: Mapping[str, AuthUser],
        hasher: PasswordHash | None = None,
        max_concurrent: int = 2,
        wait_seconds: float = 2.0,
    ) -> None:
        self.users = dict(users)
        self.hasher = hasher or password_hasher()
        self._stand_in = next((user.password_hash for user in self.users.values()), DUMMY_HASH)
        self.wait_seconds = wait_seconds
        self._checks = anyio.CapacityLimiter(max_concurrent)

    def tier_of(self, username: str) -> UserTier | None:
        user = self.users.get(username)
        return None if user is None else user.tier

    async def authenticate(self, username: str, password: str) -> UserTier | None:
        """The user's tier when the password is right, else None."""
        user = self.users.get(username)
        stored = self._stand_in if user is None else user.password_hash
        try:
            with anyio.fail_after(self.wait_seconds):
                await self._checks.acquire()
        except TimeoutError:
            raise LoginsBusyError from None
        try:
            valid = await anyio.to_thread.run_sync(self._verify, password, stored)
        finally:
            self._checks.release()
        return user.tier if valid and user is not None else None

    def _verify(self, password: str, stored: str) -> bool:
        try:
            return self.hasher.verify(password, stored)
        except UnknownHashError:
            # A malformed configured hash: treat as a wrong password, at the same cost.
            self.hasher.verify(password, DUMMY_HASH)
            return False
