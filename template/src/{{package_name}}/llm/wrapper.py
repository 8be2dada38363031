"""What the port's wrappers (metrics, tracing) share: they observe calls and pass them on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .port import LLM, TokenDelta


class LLMWrapper:
    """An ``LLM`` around ``inner``; its name, model and closing pass straight through."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    async def aclose(self) -> None:
        await self.inner.aclose()


async def close_stream(stream: AsyncIterator[TokenDelta]) -> None:
    """Close the inner stream however the outer one ended, so generation upstream stops."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
