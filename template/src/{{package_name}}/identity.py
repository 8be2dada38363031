"""Who is calling: the identity that authentication resolves and rate limits key on."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast, get_args

from .core_settings import Tier

AuthMethod = Literal["jwt", "api_key", "anonymous"]
TIERS: tuple[str, ...] = get_args(Tier)


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller (or the anonymous one).

    ``subject`` is stable per caller and safe to log and to use as a rate-limit
    key: for API keys it is a digest, never the key itself.
    """

    subject: str
    tier: Tier
    method: AuthMethod


def digest(secret: str) -> str:
    """A short, non-reversible fingerprint of a secret, for keys and logs."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class ApiKeyRegistry:
    """The configured API keys, each with its rate-limit tier.

    Keys are stored by their SHA-256 so a lookup never compares the secret
    byte by byte (no timing signal), and a final ``compare_digest`` guards
    against the astronomically unlikely digest-prefix collision. The cache of
    verified keys is a dict: Python compares strings there only when their
    salted hashes are equal, which a caller cannot arrange.
    """

    def __init__(self, entries: Iterable[str], default_tier: Tier = "free") -> None:
        self._keys: dict[str, tuple[bytes, Tier]] = {}
        # Keys already verified, so a returning caller costs one dict lookup
        # instead of a SHA-256 and a new Identity on every request. Only
        # configured keys get in, so it stays as small
        # as the configuration; an unknown key always takes the hashed path.
        self._identified: dict[str, Identity] = {}
        for entry in entries:
            key, _, tier = entry.partition(":")
            chosen = tier or default_tier
            if chosen not in TIERS:
                raise ValueError(f"API key tier must be one of {', '.join(TIERS)}, not {chosen!r}")
            full = hashlib.sha256(key.encode()).digest()
            self._keys[full.hex()] = (full, cast(Tier, chosen))

    def __bool__(self) -> bool:
        return bool(self._keys)

    def identify(self, presented: str) -> Identity | None:
        """The identity for a presented key, or None when it is not configured."""
        known = self._identified.get(presented)
        if known is not None:
            return known
        full = hashlib.sha256(presented.encode()).digest()
        found = self._keys.get(full.hex())
        if found is None or not hmac.compare_digest(found[0], full):
            return None
        identity = Identity(subject=f"key:{full.hex()[:16]}", tier=found[1], method="api_key")
        self._identified[presented] = identity
        return identity
