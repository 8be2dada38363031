"""Adapter for any OpenAI-compatible chat-completions API, on the official client.

Timeouts are explicit (connect and total) so a stuck upstream becomes a 504,
not a request that hangs until the client gives up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

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
    Message,
    TokenDelta,
    Usage,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.completion_usage import CompletionUsage

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


def _message(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _messages(request: CompletionRequest) -> list[ChatCompletionMessageParam]:
    return [_message(message) for message in request.messages]


def _usage(usage: CompletionUsage | None) -> Usage | None:
    return Usage(usage.prompt_tokens, usage.completion_tokens) if usage else None


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
                messages=_messages(request),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=list(request.stop) or None,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        choice = response.choices[0]
        return Completion(
            text=choice.message.content or "",
            finish_reason=_FINISH_REASONS.get(choice.finish_reason or "", "stop"),
            model=response.model,
            usage=_usage(response.usage) or Usage(0, 0),
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        """Yield content as it comes; the finish reason waits for the usage chunk.

        With ``include_usage`` the upstream sends usage in one more chunk after
        the one that carries the finish reason, so that last piece is held back
        and yielded with both.
        """
        held: TokenDelta | None = None
        try:
            chunks = await self.client.chat.completions.create(
                model=request.model or self.model,
                messages=_messages(request),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=list(request.stop) or None,
                stream=True,
                stream_options={"include_usage": True},
            )
            # Closing the response closes the upstream connection, which is
            # what stops a provider from generating (and billing) further.
            async with chunks:
                async for chunk in chunks:
                    if not chunk.choices:
                        if held is not None and chunk.usage is not None:
                            yield TokenDelta(held.text, held.finish_reason, _usage(chunk.usage))
                            held = None
                        continue
                    choice = chunk.choices[0]
                    text = choice.delta.content or ""
                    if choice.finish_reason:
                        reason = _FINISH_REASONS.get(choice.finish_reason, "stop")
                        held = TokenDelta(text, reason, _usage(chunk.usage))
                    elif text:
                        yield TokenDelta(text)
            if held is not None:
                yield held
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc

    async def aclose(self) -> None:
        await self.client.close()
