"""Public keys from an identity provider's JWKS URL, fetched asynchronously and cached.

Keys are looked up by the token's ``kid``. An unknown ``kid`` triggers one
refetch (the provider may have rotated its keys), at most once per
``MIN_REFETCH_SECONDS`` so random ``kid`` values cannot make us hammer the
provider; otherwise the set is refreshed after ``APP_JWT_JWKS_CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import jwt
import structlog

from .tokens import InvalidTokenError

logger = structlog.get_logger(__name__)

MIN_REFETCH_SECONDS = 30.0


class JwksKeySource:
    """The provider's current keys by ``kid``."""

    def __init__(
        self, url: str, cache_seconds: float, client: httpx2.AsyncClient | None = None
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.client = client or httpx2.AsyncClient(timeout=httpx2.Timeout(5.0))
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise InvalidTokenError("The bearer token is not valid.") from None
        if not isinstance(kid, str):
            raise InvalidTokenError("The bearer token names no key (kid).")
        age = time.monotonic() - self._fetched_at
        if age > self.cache_seconds or (kid not in self._keys and age > MIN_REFETCH_SECONDS):
            await self._refresh(kid)
        found = self._keys.get(kid)
        if found is None:
            raise InvalidTokenError("The bearer token was signed with an unknown key.")
        return found

    async def _refresh(self, kid: str) -> None:
        async with self._lock:  # one fetch for a burst of requests
            age = time.monotonic() - self._fetched_at
            if age <= self.cache_seconds and (kid in self._keys or age <= MIN_REFETCH_SECONDS):
                return
            try:
                response = await self.client.get(self.url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
            except (httpx2.HTTPError, ValueError, jwt.PyJWTError) as exc:
                # Keep serving with the keys we have; try again after the short pause.
                logger.warning("jwks_fetch_failed", url=self.url, error=type(exc).__name__)
                self._fetched_at = time.monotonic() - self.cache_seconds + MIN_REFETCH_SECONDS
                return
            self._keys = {key.key_id: key for key in keys if key.key_id}
            self._fetched_at = time.monotonic()

    async def aclose(self) -> None:
        await self.client.aclose()
