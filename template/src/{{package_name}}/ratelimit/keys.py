"""Whom a quota belongs to: the user, else the API key, else the client address."""

from __future__ import annotations

from ..identity import Identity


def rate_limit_key(identity: Identity | None, client_ip: str | None) -> str:
    """A stable key per caller; never contains a secret (identities hold digests)."""
    if identity is not None and identity.method != "anonymous":
        return f"{identity.method}:{identity.subject}"
    return f"ip:{client_ip or 'unknown'}"
