"""Check logins against ``APP_AUTH_USERS`` with pwdlib (argon2), off the event loop.

Argon2 is deliberately slow (tens of milliseconds of CPU), so hashing and
verifying run in a worker thread. An unknown username is checked against a
dummy hash with the same parameters, so it costs the same time as a wrong
password and response times do not reveal which usernames exist.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

from ..settings import AuthUser, UserTier

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


class UserDirectory:
    """The configured users; ``authenticate`` answers in the same time for every failure."""

    def __init__(self, users: Mapping[str, AuthUser], hasher: PasswordHash | None = None) -> None:
        self.users = dict(users)
        self.hasher = hasher or password_hasher()

    def tier_of(self, username: str) -> UserTier | None:
        user = self.users.get(username)
        return None if user is None else user.tier

    async def authenticate(self, username: str, password: str) -> UserTier | None:
        """The user's tier when the password is right, else None."""
        user = self.users.get(username)
        stored = DUMMY_HASH if user is None else user.password_hash
        valid = await anyio.to_thread.run_sync(self._verify, password, stored)
        return user.tier if valid and user is not None else None

    def _verify(self, password: str, stored: str) -> bool:
        try:
            return self.hasher.verify(password, stored)
        except UnknownHashError:
            # A malformed configured hash: treat as a wrong password, at the same cost.
            self.hasher.verify(password, DUMMY_HASH)
            return False
