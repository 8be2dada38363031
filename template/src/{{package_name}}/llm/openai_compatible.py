"""Adapter for any OpenAI-compatible chat-completions API, on the official client.

Timeouts are explicit (connect and total) so a stuck upstream becomes a 504,
not a request that hangs until the client gives up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import openai
from openai import AsyncOpenAI

from .port import (
    Completion,
    CompletionRequest,
    FinishReason,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    TokenDelta,
)

_FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


def _translate(exc: openai.OpenAIError) -> LLMError:
    """Map the client's exceptions onto the port's three failure kinds."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(str(exc))
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):
        return LLMUnavailableError(str(exc))
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return LLMUnavailableError(str(exc))
    return LLMError(str(exc))


class OpenAICompatibleLLM:
    """Calls a hosted or self-hosted model through the chat-completions API."""

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 60.0,
        connect_timeout_seconds: float = 5.0,
    ) -> None:
        self.model = model
        self.client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=httpx2.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            max_retries=1,
        )

    @property
    def name(self) -> str:
        return "openai"

    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            response = await self.client.chat.completions.create(
                model=request.model or self.model,
                messages=[{"role": "user", "content": request.prompt}],
                max_tokens=request.max_tokens,
                temperature=request.temperature,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            tokens=usage.completion_tokens if usage else 0,
            finish_reason=_FINISH_REASONS.get(choice.finish_reason or "", "stop"),
            model=response.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        try:
            chunks = await self.client.chat.completions.create(
                model=request.model or self.model,
                messages=[{"role": "user", "content": request.prompt}],
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stream=True,
            )
            # Closing the response closes the upstream connection, which is
            # what stops a provider from generating (and billing) further.
            async with chunks:
                async for chunk in chunks:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    reason = (
                        _FINISH_REASONS.get(choice.finish_reason, "stop")
                        if choice.finish_reason
                        else None
                    )
                    text = choice.delta.content or ""
                    if text or reason:
                        yield TokenDelta(text, reason)
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc

    async def aclose(self) -> None:
        await self.client.close()
